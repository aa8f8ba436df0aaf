package org.losskit.examples;

import org.losskit.LossEngine;

/** Prints each backend losskit finds, one line each: name, available or not, and the probe's detail. */
public final class ListBackends {
    private ListBackends() {}

    public static void main(String[] args) {
        for (LossEngine.BackendStatus s : LossEngine.availableBackends()) {
            System.out.println(s.name() + "\t" + (s.available() ? "available" : "unavailable") + "\t" + s.detail());
        }
    }
}
