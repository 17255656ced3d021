/**
 * The backend-neutral MxD API: configuration, weights and checkpoints, backend selection, the float64 oracle and
 * training. Backends plug in as {@link dev.mxd.Backend} services ({@code -Dmxd.backend} picks one); the API
 * exports its packages and nothing of a backend.
 */
module dev.mxd {
    requires com.fasterxml.jackson.databind;

    exports dev.mxd;
    exports dev.mxd.tensor;
    exports dev.mxd.checkpoint;
    exports dev.mxd.oracle;
    exports dev.mxd.train;

    uses dev.mxd.Backend;

    provides dev.mxd.Backend with dev.mxd.oracle.OracleBackend;
}
