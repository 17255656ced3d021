package dev.mxd.cli;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import java.util.Locale;

/**
 * The layer a command trains: its kind and sizes, with the defaults of {@code ./mxd train} (an MxD 4·I wide with
 * the equal-parameter N of a TC {@code tcWidth}·I wide, DESIGN §1; a TC or STC {@code tcWidth}·I wide).
 *
 * @param hidden  H, or null for the default
 * @param experts N of an MxD, or null for the equal-parameter default
 */
record LayerShape(Kind kind, int k, Integer hidden, Integer experts, int tcWidth, Activation activation, boolean glu,
                  boolean skip) {

    LayerShape {
        if (tcWidth < 1) {
            throw new IllegalArgumentException("--tc-width must be >= 1, got " + tcWidth);
        }
        if (kind == Kind.TC && skip) {
            throw new IllegalArgumentException("a TC with --skip is an STC: use --kind stc");
        }
    }

    /** The default layer of a kind: GELU, no GLU, no skip (an STC has its own). */
    static LayerShape of(Kind kind, int k, int tcWidth) {
        return new LayerShape(kind, k, null, null, tcWidth, Activation.GELU, false, false);
    }

    /** {@code mxd}, {@code tc} or {@code stc}, any case. */
    static Kind kind(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mxd" -> Kind.MXD;
            case "tc" -> Kind.TC;
            case "stc" -> Kind.STC;
            default -> throw new IllegalArgumentException("--kind must be mxd, tc or stc, got '" + name + "'");
        };
    }

    /** The config for data of widths {@code in} (x) and {@code out} (t). */
    MxdConfig config(int in, int out) {
        int h = hidden != null ? hidden : (kind == Kind.MXD ? 4 * in : tcWidth * in);
        return switch (kind) {
            case MXD -> MxdConfig.mxd(in, h, experts != null ? experts
                    : MxdConfig.equalParameterExperts(in, h, out, tcWidth * in, glu), out, k, activation, glu, skip);
            case TC -> MxdConfig.transcoder(in, h, out, k, activation, glu);
            case STC -> MxdConfig.skipTranscoder(in, h, out, k, activation, glu);
        };
    }
}
