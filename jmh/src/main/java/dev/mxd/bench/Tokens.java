package dev.mxd.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Counts the tokens a benchmark method processed; JMH reports them per second as a secondary result. */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Tokens {
    public long tokens;

    @Setup(Level.Iteration)
    public void reset() {
        tokens = 0;
    }
}
