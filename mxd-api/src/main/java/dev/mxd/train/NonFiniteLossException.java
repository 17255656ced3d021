package dev.mxd.train;

import java.nio.file.Path;

/**
 * Training stopped because a step's loss was NaN or infinite. The step's update was not applied; the last
 * checkpoint written before it (if any) is intact and names the state to resume from.
 */
public final class NonFiniteLossException extends IllegalStateException {
    private final long step;
    private final transient Path lastCheckpoint;

    NonFiniteLossException(long step, double loss, long tokens, Path lastCheckpoint, long lastCheckpointStep) {
        super("non-finite loss " + loss + " at step " + step + " (after " + tokens + " training tokens); the update of"
                + " that step was not applied" + (lastCheckpoint == null ? "; no checkpoint was written"
                : "; the last good checkpoint is " + lastCheckpoint + " at step " + lastCheckpointStep));
        this.step = step;
        this.lastCheckpoint = lastCheckpoint;
    }

    /** The step whose loss was not finite, 1-based. */
    public long step() {
        return step;
    }

    /** The last checkpoint written before the failure, or null. */
    public Path lastCheckpoint() {
        return lastCheckpoint;
    }
}
