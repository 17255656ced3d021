package dev.mxd.bench;

import dev.mxd.Availability;
import dev.mxd.Backend;
import dev.mxd.Codes;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleBackend;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A test backend: the reference backend with one output entry of every forward pushed off by 1 % (at least 0.01). */
public final class PerturbedBackend implements Backend {
    static final String NAME = "perturbed-test";
    static volatile MxdLayer lastLoaded;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Availability availability() {
        return Availability.ready(false, "reference with y[0, 5] off by 1 %, at least 0.01");
    }

    @Override
    public MxdLayer load(MxdModel model) {
        MxdLayer inner = new OracleBackend().load(model);
        MxdLayer layer = new MxdLayer(model.config(), NAME) {
            @Override
            protected void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
                inner.forward(x, tokens, y, codes);
                float v = y.getAtIndex(ValueLayout.JAVA_FLOAT, 5);
                y.setAtIndex(ValueLayout.JAVA_FLOAT, 5, v + 0.01f * Math.max(Math.abs(v), 1f));
            }

            @Override
            protected void encodeImpl(MemorySegment x, int tokens, Codes codes) {
                inner.encode(x, tokens, codes);
            }

            @Override
            protected void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
                inner.decode(x, tokens, codes, y);
            }

            @Override
            protected void closeImpl() {
                inner.close();
            }
        };
        lastLoaded = layer;
        return layer;
    }
}
