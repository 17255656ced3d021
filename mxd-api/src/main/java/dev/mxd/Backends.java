package dev.mxd;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * The one place that decides which backend runs (DESIGN §3).
 *
 * <p>The name comes from {@code -Dmxd.backend}, else the environment variable {@code MXD_BACKEND}, else
 * {@code auto}. {@code auto} takes {@code opencl} where it found a GPU, else {@code cpu}; it never takes
 * {@code reference}. An unknown or unavailable name is an error listing what is available and why the rest
 * is not: an explicit choice never falls back silently. The choice is logged once per backend at INFO.
 */
public final class Backends {
    public static final String PROPERTY = "mxd.backend";
    public static final String ENV = "MXD_BACKEND";
    public static final String AUTO = "auto";

    /** Backends mxd ships, with the module that provides each (for "not on the class path" messages). */
    private static final Map<String, String> KNOWN = Map.of(
            "cpu", "dev.mxd:mxd-cpu-simd",
            "opencl", "dev.mxd:mxd-opencl",
            "reference", "dev.mxd:mxd-api");

    private static final System.Logger LOG = System.getLogger("dev.mxd.backend");
    private static final Map<String, Boolean> LOGGED = new ConcurrentHashMap<>();

    private Backends() {
    }

    /** Every backend on the class path, sorted by name. */
    public static List<Backend> installed() {
        List<Backend> all = new ArrayList<>();
        ServiceLoader.load(Backend.class, Backends.class.getClassLoader()).forEach(all::add);
        all.sort(Comparator.comparing(Backend::name));
        return all;
    }

    /** The backend the system property, else the environment, else {@code auto} names. */
    public static Backend select() {
        return select(requestedName(System::getProperty, System::getenv));
    }

    /**
     * The backend called {@code name} ({@code cpu}, {@code opencl}, {@code reference} or {@code auto}).
     *
     * @throws MxdBackendException when it is unknown or unavailable, listing the alternatives
     */
    public static Backend select(String name) {
        return select(name, installed());
    }

    /** Selection among the given candidates; {@link #select(String)} passes the installed backends. */
    public static Backend select(String name, List<Backend> candidates) {
        String wanted = name == null || name.isBlank() ? AUTO : name.trim().toLowerCase(Locale.ROOT);
        Backend chosen;
        if (wanted.equals(AUTO)) {
            chosen = find(candidates, "opencl").filter(b -> b.availability().available() && b.availability().gpu())
                    .or(() -> find(candidates, "cpu").filter(b -> b.availability().available()))
                    .orElseThrow(() -> new MxdBackendException("mxd.backend=auto found neither an OpenCL GPU nor an"
                            + " available cpu backend. " + describe(candidates)));
        } else {
            Optional<Backend> found = find(candidates, wanted);
            if (found.isEmpty()) {
                String hint = KNOWN.containsKey(wanted)
                        ? "backend '" + wanted + "' is not on the class path (add " + KNOWN.get(wanted) + ")"
                        : "unknown backend '" + wanted + "' (names: auto, cpu, opencl, reference)";
                throw new MxdBackendException(hint + ". " + describe(candidates));
            }
            chosen = found.get();
            Availability a = chosen.availability();
            if (!a.available()) {
                throw new MxdBackendException("backend '" + wanted + "' is unavailable: " + a.detail() + ". "
                        + describe(candidates));
            }
        }
        if (LOGGED.putIfAbsent(chosen.name(), Boolean.TRUE) == null) {
            LOG.log(System.Logger.Level.INFO, "mxd backend: {0} ({1})", chosen.name(), chosen.availability().detail());
        }
        return chosen;
    }

    /**
     * The backend that trains, chosen as {@link #select()} chooses but among backends that {@link Backend#trains()}:
     * {@code auto} takes {@code opencl} where it found a GPU and trains, else {@code cpu}.
     *
     * @throws MxdBackendException when the named backend is unknown, unavailable or does not train
     */
    public static Backend selectForTraining() {
        return selectForTraining(requestedName(System::getProperty, System::getenv));
    }

    /** {@link #selectForTraining()} for the backend called {@code name} (or {@code auto}). */
    public static Backend selectForTraining(String name) {
        return selectForTraining(name, installed());
    }

    /** Training selection among the given candidates; {@link #selectForTraining(String)} passes the installed ones. */
    public static Backend selectForTraining(String name, List<Backend> candidates) {
        String wanted = name == null || name.isBlank() ? AUTO : name.trim().toLowerCase(Locale.ROOT);
        List<Backend> training = candidates.stream().filter(Backend::trains).toList();
        if (!wanted.equals(AUTO) && find(candidates, wanted).isPresent() && find(training, wanted).isEmpty()) {
            throw new MxdBackendException("backend '" + wanted + "' does not train; backends that train: "
                    + String.join(", ", training.stream().map(Backend::name).toList())
                    + " (cpu is fast, reference is the exact and slow float64 oracle)");
        }
        return select(wanted, wanted.equals(AUTO) ? training : candidates);
    }

    /** The requested name: the property, else the environment variable, else {@code auto}. */
    public static String requestedName(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        String p = properties.apply(PROPERTY);
        if (p != null && !p.isBlank()) {
            return p.trim();
        }
        String e = environment.apply(ENV);
        return e != null && !e.isBlank() ? e.trim() : AUTO;
    }

    /** One line per candidate: "Available: cpu (AVX-512 ...); unavailable: opencl (no OpenCL library ...)". */
    public static String describe(List<Backend> candidates) {
        List<String> ok = new ArrayList<>();
        List<String> not = new ArrayList<>();
        for (Backend b : candidates) {
            Availability a = b.availability();
            (a.available() ? ok : not).add(b.name() + " (" + a.detail() + ")");
        }
        for (String known : KNOWN.keySet().stream().sorted().toList()) {
            if (find(candidates, known).isEmpty()) {
                not.add(known + " (not on the class path: " + KNOWN.get(known) + ")");
            }
        }
        return "Available: " + (ok.isEmpty() ? "none" : String.join(", ", ok))
                + "; unavailable: " + (not.isEmpty() ? "none" : String.join(", ", not));
    }

    private static Optional<Backend> find(List<Backend> candidates, String name) {
        return candidates.stream().filter(b -> b.name().equals(name)).findFirst();
    }
}
