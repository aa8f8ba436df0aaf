package org.losskit.cuda;

/** The device address of the staging buffer a call's staged operands live in (known once it is allocated). */
@FunctionalInterface
interface StagingAddresses {
    long stagingBase();
}
