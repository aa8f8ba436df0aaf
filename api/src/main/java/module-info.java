/**
 * losskit's public API, backend SPI and the reference backend. Depends on nothing outside java.base;
 * backends (losskit.cpu, losskit.cuda) are found through {@link org.losskit.spi.BackendProvider}.
 */
module losskit.api {
    exports org.losskit;
    exports org.losskit.spi;
    exports org.losskit.reference;

    uses org.losskit.spi.BackendProvider;

    provides org.losskit.spi.BackendProvider with org.losskit.reference.ReferenceProvider;
}
