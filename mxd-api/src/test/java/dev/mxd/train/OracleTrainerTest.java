package dev.mxd.train;

import dev.mxd.Backend;
import dev.mxd.oracle.OracleBackend;

/** The trainer's contract ({@link TrainerContract}) on the float64 oracle's kernels. */
class OracleTrainerTest extends TrainerContract {
    @Override
    protected Backend backend() {
        return new OracleBackend();
    }
}
