package dev.mxd;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The shape and structure of an MxD, TC or STC layer (DESIGN §1), validated on construction.
 *
 * <p>Field names on disk are the reference's ({@code LanguageModelSAERunnerConfig}): {@code d_in} (I),
 * {@code d_sae} (H), {@code d_out} (O), {@code n_experts} (N), {@code topk} (K), {@code mlp_activation_fn},
 * {@code use_conditional}, {@code is_transcoder}, {@code use_glu}, {@code use_skip}. Fields this class
 * does not model (training settings, the reference's bookkeeping) are kept in {@link #otherFields()} and
 * written back unchanged.
 *
 * @param kind        MXD, TC or STC
 * @param inputDim    I, width of an input row x
 * @param hiddenDim   H, width of the encoder output z ({@code d_sae})
 * @param outputDim   O, width of an output row y
 * @param experts     N, number of experts (MxD only; 0 for TC and STC)
 * @param k           K, active experts (MxD) or active hidden units (TC, STC) per token
 * @param activation  the encoder activation
 * @param glu         whether z is multiplied by a GLU branch {@code x·W_glu.weightᵀ + W_glu.bias}
 * @param skip        whether {@code x·W_skip.weightᵀ} is added (always for STC, never for TC)
 * @param otherFields reference fields not modelled here, in file order (values: String, Number, Boolean,
 *                    List, Map or null); an unmodifiable copy is kept
 */
public record MxdConfig(Kind kind, int inputDim, int hiddenDim, int outputDim, int experts, int k,
                        Activation activation, boolean glu, boolean skip, Map<String, Object> otherFields) {

    /** Fields owned by this record; everything else goes to {@link #otherFields()}. */
    private static final java.util.Set<String> MODELLED = java.util.Set.of("d_in", "d_sae", "d_out",
            "n_experts", "topk", "mlp_activation_fn", "use_conditional", "is_transcoder", "use_glu", "use_skip",
            "expansion_factor");

    public MxdConfig {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(activation, "activation");
        requirePositive("d_in (I)", inputDim);
        requirePositive("d_sae (H)", hiddenDim);
        requirePositive("d_out (O)", outputDim);
        if (k <= 0) {
            throw new IllegalArgumentException("topk (K) = " + k
                    + " is not supported: topk <= 0 selects the reference's dense L1 mode, which mxd does not implement;"
                    + " use K >= 1");
        }
        switch (kind) {
            case MXD -> {
                requirePositive("n_experts (N)", experts);
                if (k > experts) {
                    throw new IllegalArgumentException("topk (K) = " + k + " is out of range [1, " + experts
                            + "] (n_experts) for an MXD");
                }
            }
            case TC, STC -> {
                if (experts != 0) {
                    throw new IllegalArgumentException("n_experts (N) = " + experts + " is set for a " + kind
                            + "; it must be 0 (only an MxD has experts)");
                }
                if (k > hiddenDim) {
                    throw new IllegalArgumentException("topk (K) = " + k + " is out of range [1, " + hiddenDim
                            + "] (d_sae) for a " + kind);
                }
                if (skip != (kind == Kind.STC)) {
                    throw new IllegalArgumentException("use_skip = " + skip + " contradicts kind " + kind
                            + " (an STC has a skip connection, a TC has none)");
                }
            }
        }
        otherFields = Collections.unmodifiableMap(new LinkedHashMap<>(otherFields == null ? Map.of() : otherFields));
    }

    /** An MxD with no extra fields. */
    public static MxdConfig mxd(int i, int h, int n, int o, int k, Activation act, boolean glu, boolean skip) {
        return new MxdConfig(Kind.MXD, i, h, o, n, k, act, glu, skip, Map.of());
    }

    /** A TopK transcoder (TC) with no extra fields. */
    public static MxdConfig transcoder(int i, int h, int o, int k, Activation act, boolean glu) {
        return new MxdConfig(Kind.TC, i, h, o, 0, k, act, glu, false, Map.of());
    }

    /** A skip transcoder (STC) with no extra fields. */
    public static MxdConfig skipTranscoder(int i, int h, int o, int k, Activation act, boolean glu) {
        return new MxdConfig(Kind.STC, i, h, o, 0, k, act, glu, true, Map.of());
    }

    /** The width of a code index: N for an MxD, H for a TC or STC. */
    public int codeSpace() {
        return kind == Kind.MXD ? experts : hiddenDim;
    }

    /** A copy with other extra fields (e.g. training settings to be written into {@code cfg.json}). */
    public MxdConfig withOtherFields(Map<String, Object> fields) {
        return new MxdConfig(kind, inputDim, hiddenDim, outputDim, experts, k, activation, glu, skip, fields);
    }

    /** A copy with another K, validated like any config. */
    public MxdConfig withK(int newK) {
        return new MxdConfig(kind, inputDim, hiddenDim, outputDim, experts, newK, activation, glu, skip, otherFields);
    }

    /**
     * The tensors of a checkpoint of this config, in file order, with their row-major shapes (DESIGN §1).
     * {@code b_dec} [I] is always present: the reference saves it, mxd keeps it and never uses it.
     */
    public Map<String, long[]> tensorShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        long i = inputDim, h = hiddenDim, o = outputDim, n = experts;
        m.put("W_enc", new long[] {i, h});
        m.put("b_enc", new long[] {h});
        if (glu) {
            m.put("W_glu.weight", new long[] {h, i});
            m.put("W_glu.bias", new long[] {h});
        }
        m.put("W_dec", new long[] {h, o});
        if (kind == Kind.MXD) {
            m.put("gate", new long[] {n, i});
            m.put("gate_bias", new long[] {n});
            m.put("W_cond", new long[] {o, n});
        }
        if (skip) {
            m.put("W_skip.weight", new long[] {o, i});
        }
        m.put("b_dec_out", new long[] {o});
        m.put("b_dec", new long[] {i});
        return m;
    }

    /**
     * The tensors that receive gradient, in file order: every tensor of {@link #tensorShapes()} but {@code b_dec},
     * which MxD, TC and STC never use (the reference's optimiser skips it: it has no gradient).
     */
    public List<String> trainableTensorNames() {
        return tensorShapes().keySet().stream().filter(n -> !n.equals("b_dec")).toList();
    }

    /** Parameters the forward pass uses (every tensor but the unused {@code b_dec}). */
    public long parameterCount() {
        long total = 0;
        for (Map.Entry<String, long[]> e : tensorShapes().entrySet()) {
            if (!e.getKey().equals("b_dec")) {
                long c = 1;
                for (long d : e.getValue()) {
                    c *= d;
                }
                total += c;
            }
        }
        return total;
    }

    /**
     * The number of experts N that gives an MxD (I, H, O) the parameter count of a TC of width {@code hTc}
     * (DESIGN §1): {@code N = round((2·I·H_tc + H_tc + O − (I·H + H·O + H + O)) / (I + O + 1))}, each side
     * adding its own GLU branch. This is the honest count: at GPT-2 (768, 3072, 768, H_tc = 24576) it
     * gives 21504, where the paper's scripts, counting H_tc in place of H, give 21490. Skip connections are
     * left out on both sides (an MxD with skip is compared with an STC, which has the same I·O term).
     *
     * @throws IllegalArgumentException when the TC is too small for any expert
     */
    public static int equalParameterExperts(int inputDim, int hiddenDim, int outputDim, int hTc, boolean glu) {
        double i = inputDim, h = hiddenDim, o = outputDim, t = hTc;
        double tcSide = 2 * i * t + t + o + (glu ? t * i + t : 0);
        double mxdFixed = i * h + h * o + h + o + (glu ? h * i + h : 0);
        long n = Math.round((tcSide - mxdFixed) / (i + o + 1));
        if (n < 1) {
            throw new IllegalArgumentException("a TC of width " + hTc + " has fewer parameters than an MxD with H = "
                    + hiddenDim + " and no experts; no equal-parameter N exists");
        }
        return Math.toIntExact(n);
    }

    /**
     * Builds a config from the reference's field names (a parsed {@code cfg.json} or a reference
     * checkpoint's pickled config). Unknown fields go to {@link #otherFields()}.
     *
     * @throws IllegalArgumentException naming the field, its value and what was expected
     */
    public static MxdConfig fromReferenceFields(Map<String, ?> fields) {
        Objects.requireNonNull(fields, "fields");
        boolean conditional = bool(fields, "use_conditional", false);
        boolean skip = bool(fields, "use_skip", false);
        boolean glu = bool(fields, "use_glu", false);
        boolean transcoder = bool(fields, "is_transcoder", true);
        if (!conditional && !transcoder) {
            throw new IllegalArgumentException("is_transcoder = false with use_conditional = false describes the"
                    + " reference's plain SAE, which mxd does not support (MxD, TC and STC only)");
        }
        int inputDim = integer(fields, "d_in", null);
        Integer hidden = fields.containsKey("d_sae") && fields.get("d_sae") != null ? integer(fields, "d_sae", null) : null;
        if (hidden == null) {
            Object ef = fields.get("expansion_factor");
            if (!(ef instanceof Number num)) {
                throw new IllegalArgumentException("d_sae is missing (and no expansion_factor to derive it from)");
            }
            hidden = Math.toIntExact(Math.round(num.doubleValue() * inputDim));
        }
        int outputDim = integer(fields, "d_out", inputDim);
        Kind kind = Kind.fromReferenceFlags(conditional, skip);
        int experts = kind == Kind.MXD ? integer(fields, "n_experts", null) : 0;
        int k = integer(fields, "topk", null);
        Object act = fields.get("mlp_activation_fn");
        Activation activation = act == null ? Activation.RELU : Activation.parse(String.valueOf(act));
        Map<String, Object> other = new LinkedHashMap<>();
        fields.forEach((name, value) -> {
            if (!MODELLED.contains(name)) {
                other.put(name, value);
            }
        });
        if (kind != Kind.MXD && fields.get("n_experts") != null) {
            other.put("n_experts", fields.get("n_experts"));
        }
        return new MxdConfig(kind, inputDim, hidden, outputDim, experts, k, activation, glu, skip, other);
    }

    /**
     * The reference's fields for this config, modelled fields first, then {@link #otherFields()} in their
     * order. {@code expansion_factor} is derived as {@code d_sae / d_in}.
     */
    public Map<String, Object> toReferenceFields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("d_in", inputDim);
        m.put("d_sae", hiddenDim);
        m.put("d_out", outputDim);
        if (kind == Kind.MXD) {
            m.put("n_experts", experts);
        }
        m.put("topk", k);
        m.put("mlp_activation_fn", activation.referenceName());
        m.put("use_conditional", kind == Kind.MXD);
        m.put("is_transcoder", true);
        m.put("use_glu", glu);
        m.put("use_skip", skip);
        m.put("expansion_factor", (double) hiddenDim / inputDim);
        otherFields.forEach(m::putIfAbsent);
        return m;
    }

    private static void requirePositive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " = " + value + " is out of range: it must be >= 1");
        }
    }

    private static boolean bool(Map<String, ?> fields, String name, boolean dflt) {
        Object v = fields.get(name);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException(name + " = " + v + " is not a boolean");
    }

    private static int integer(Map<String, ?> fields, String name, Integer dflt) {
        Object v = fields.get(name);
        if (v == null) {
            if (dflt == null) {
                throw new IllegalArgumentException(name + " is missing from the config");
            }
            return dflt;
        }
        if (v instanceof Number num) {
            double d = num.doubleValue();
            if (d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) {
                return (int) d;
            }
        }
        throw new IllegalArgumentException(name + " = " + v + " is not an integer in the int range");
    }
}
