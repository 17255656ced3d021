package dev.mxd;

import java.util.Locale;

/**
 * The hidden-layer activation {@code act} of DESIGN §1, with the reference's names. The double-precision
 * {@link #apply(double)} is the definition every backend is checked against.
 */
public enum Activation {
    RELU("relu"),
    /** Exact GELU, {@code x·Φ(x) = x/2·(1 + erf(x/√2))}. */
    GELU("gelu"),
    /** PyTorch's tanh approximation of GELU ({@code gelu_pytorch_tanh}; alias {@code gelu_tanh}). */
    GELU_TANH("gelu_pytorch_tanh"),
    SIGMOID("sigmoid"),
    /** {@code x·sigmoid(x)}; not in the reference, an mxd extension. */
    SILU("silu");

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double INV_SQRT_2 = 1.0 / Math.sqrt(2.0);

    private final String referenceName;

    Activation(String referenceName) {
        this.referenceName = referenceName;
    }

    /** The name written to {@code mlp_activation_fn}. */
    public String referenceName() {
        return referenceName;
    }

    /**
     * Parses a reference name or alias, case-insensitively.
     *
     * @throws IllegalArgumentException naming the value and the accepted names
     */
    public static Activation parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            if (n.equals("gelu_tanh")) {
                return GELU_TANH;
            }
            for (Activation a : values()) {
                if (a.referenceName.equals(n)) {
                    return a;
                }
            }
        }
        throw new IllegalArgumentException("mlp_activation_fn = '" + name
                + "' is not supported; expected one of relu, gelu, gelu_pytorch_tanh (alias gelu_tanh), sigmoid, silu");
    }

    /** The activation in double precision: the oracle's definition. */
    public double apply(double x) {
        return switch (this) {
            case RELU -> x > 0 ? x : 0.0;
            case GELU -> 0.5 * x * (1.0 + erf(x * INV_SQRT_2));
            case GELU_TANH -> 0.5 * x * (1.0 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
            case SILU -> x / (1.0 + Math.exp(-x));
        };
    }

    /**
     * The derivative in double precision: the oracle backward pass's definition, as PyTorch's backward defines it: relu' = [x &gt; 0]
     * (0 at the kink), the exact derivative of the erf GELU {@code Φ(x) + x·φ(x)}, and of the tanh GELU
     * {@code ½(1 + tanh u) + ½x(1 − tanh² u)·√(2/π)(1 + 3·0.044715x²)} with {@code u = √(2/π)(x + 0.044715x³)}.
     */
    public double derivative(double x) {
        return switch (this) {
            case RELU -> x > 0 ? 1.0 : 0.0;
            case GELU -> {
                double cdf = 0.5 * (1.0 + Activation.erf(x / Math.sqrt(2.0)));
                double pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2.0 * Math.PI);
                yield cdf + x * pdf;
            }
            case GELU_TANH -> {
                double beta = Math.sqrt(2.0 / Math.PI);
                double kappa = 0.044715;
                double th = Math.tanh(beta * (x + kappa * x * x * x));
                yield 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * beta * (1 + 3 * kappa * x * x);
            }
            case SIGMOID -> {
                double s = 1.0 / (1.0 + Math.exp(-x));
                yield s * (1 - s);
            }
            case SILU -> {
                double s = 1.0 / (1.0 + Math.exp(-x));
                yield s * (1 + x * (1 - s));
            }
        };
    }

    /**
     * The error function to double precision. Uses the all-positive series
     * {@code erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))}, which has no cancellation, and
     * saturates at |x| ≥ 6 where {@code 1 − erf(x) < 1e-17}.
     */
    public static double erf(double x) {
        double ax = Math.abs(x);
        if (Double.isNaN(x)) {
            return x;
        }
        if (ax >= 6.0) {
            return Math.copySign(1.0, x);
        }
        double x2 = ax * ax;
        double term = ax;
        double sum = ax;
        for (int n = 1; n < 200; n++) {
            term *= 2.0 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) {
                break;
            }
        }
        double r = 2.0 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
        return Math.copySign(Math.min(r, 1.0), x);
    }
}
