package dev.mxd;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.IntPredicate;

/**
 * A steering edit between the two steps of the forward pass (DESIGN §1): (expert, value) pairs added to each
 * token's codes, or overwriting an expert's value, before {@link MxdLayer#decode}. An expert need not be among
 * the token's top K. For an MxD, adding (n, v) moves a token's output by {@code v · c_n ⊙ (z · W_dec)}; for a TC
 * or STC by {@code v · W_dec[n]}.
 *
 * <p>The edits apply in order, to every selected token: {@link #add} appends (n, v), so the values of an expert
 * add up; {@link #set} first zeroes every earlier pair of expert n (those of {@code encode} and earlier edits)
 * and then appends (n, v), so n's total is v and {@code set(n, 0)} removes n's contribution exactly. A zeroed
 * pair stays in the table with value 0, which contributes nothing. "Expert" means a hidden unit for a TC or
 * STC, as everywhere in {@link Codes}.
 *
 * <p>Immutable and thread-safe; {@link #add} and {@link #set} return a new instance. The codes it returns are
 * on the heap, owned by the caller.
 */
public final class Steering {
    /** How an edit combines with the pairs already there. */
    public enum Mode {
        /** Append (n, v): n's values add up. */
        ADD,
        /** Zero n's earlier pairs, then append (n, v): n's total becomes v. */
        SET
    }

    /** One edit: an expert (or TC/STC hidden unit) index, a value and how it combines. */
    public record Edit(int expert, float value, Mode mode) {
        public Edit {
            Objects.requireNonNull(mode, "mode");
            if (expert < 0) {
                throw new IllegalArgumentException("steering expert " + expert + " is negative");
            }
        }
    }

    private static final Steering NONE = new Steering(List.of());

    private final List<Edit> edits;

    private Steering(List<Edit> edits) {
        this.edits = List.copyOf(edits);
    }

    /** No edit: {@link #apply} copies the codes, {@link #steer} is encode then decode. */
    public static Steering none() {
        return NONE;
    }

    /** This steering followed by adding {@code value} to expert {@code expert}. */
    public Steering add(int expert, float value) {
        return with(new Edit(expert, value, Mode.ADD));
    }

    /** This steering followed by overwriting expert {@code expert}'s value with {@code value}. */
    public Steering set(int expert, float value) {
        return with(new Edit(expert, value, Mode.SET));
    }

    /** This steering followed by {@code edit}. */
    public Steering with(Edit edit) {
        List<Edit> next = new ArrayList<>(edits);
        next.add(Objects.requireNonNull(edit, "edit"));
        return new Steering(next);
    }

    /** The edits, in the order they apply. */
    public List<Edit> edits() {
        return edits;
    }

    /**
     * Checks every edit's index against a model's code space.
     *
     * @throws IllegalArgumentException naming the first expert out of range [0, N) (MxD) or [0, H) (TC, STC)
     */
    public void requireFits(MxdConfig config) {
        int space = config.codeSpace();
        for (Edit e : edits) {
            if (e.expert() >= space) {
                throw new IllegalArgumentException("steering expert " + e.expert() + " is out of range [0, " + space
                        + ") (" + (config.kind() == Kind.MXD ? "n_experts" : "d_sae") + " of this " + config.kind() + ")");
            }
        }
    }

    /** {@link #apply(Codes, IntPredicate)} on every token. */
    public Codes apply(Codes codes) {
        return apply(codes, t -> true);
    }

    /**
     * The steered codes: [T, width + edits] on the heap. A selected token gets its pairs, edited as the class
     * describes; any other token gets its pairs unchanged, padded with (0, 0) pairs that contribute nothing.
     * Indices are not range-checked here ({@link #requireFits}; {@code decode} checks them too).
     *
     * @param codes  [T, width], typically from {@code encode}; not modified
     * @param tokens which tokens in [0, T) to steer
     */
    public Codes apply(Codes codes, IntPredicate tokens) {
        Objects.requireNonNull(tokens, "tokens");
        int width = codes.width();
        Codes out = Codes.onHeap(codes.tokens(), Math.addExact(width, edits.size()));
        for (int t = 0; t < codes.tokens(); t++) {
            for (int j = 0; j < width; j++) {
                out.set(t, j, codes.index(t, j), codes.value(t, j));
            }
            if (!tokens.test(t)) {
                continue;   // the padding slots are already (0, 0)
            }
            for (int e = 0; e < edits.size(); e++) {
                Edit edit = edits.get(e);
                if (edit.mode() == Mode.SET) {
                    for (int j = 0; j < width + e; j++) {
                        if (out.index(t, j) == edit.expert()) {
                            out.set(t, j, edit.expert(), 0f);
                        }
                    }
                }
                out.set(t, width + e, edit.expert(), edit.value());
            }
        }
        return out;
    }

    /** {@link #steer(MxdLayer, float[], IntPredicate)} on every token. */
    public MxdLayer.Output steer(MxdLayer layer, float[] x) {
        return steer(layer, x, t -> true);
    }

    /**
     * Encode, this edit on the selected tokens, decode.
     *
     * @param x T·I floats, row-major
     * @return y [T, O] and the steered codes [T, K + edits] that produced it
     * @throws IllegalArgumentException when an edit's expert is outside the layer's code space
     */
    public MxdLayer.Output steer(MxdLayer layer, float[] x, IntPredicate tokens) {
        requireFits(layer.config());
        Codes steered = apply(layer.encode(x), tokens);
        return new MxdLayer.Output(layer.decode(x, steered), steered);
    }

    @Override
    public String toString() {
        return "Steering" + edits;
    }
}
