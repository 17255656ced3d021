package dev.mxd.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * OpenBLAS's {@code cblas_sgemm}, called through the FFM API: the baseline that {@link SgemmBenchmark}
 * measures mxd's SGEMM against, in the same run.
 *
 * <p>Which library: {@code -Dmxd.bench.openblas=PATH} if given, else Debian's {@code libopenblas0-pthread}
 * ({@code /usr/lib/<multiarch>/openblas-pthread/libopenblas.so.0}), else whatever {@code libopenblas.so.0}
 * or {@code libopenblas.so} the dynamic linker finds, else the other usual install paths. It is loaded
 * once per process into the global arena and never unloaded.
 *
 * <p>Which kernels: OpenBLAS picks its kernels from the CPU when it loads, or from the environment variable
 * {@code OPENBLAS_CORETYPE}. OpenBLAS 0.3.21 (Debian 12) takes AVX-512 AMD cores for Haswell and runs its
 * AVX2 kernels there at about half of what its AVX-512 kernels reach, and some environments set
 * {@code OPENBLAS_CORETYPE=Haswell} outright. A baseline must be OpenBLAS at its best, so with
 * {@code -Dmxd.bench.openblasCore=auto} (the default) on a CPU with AVX-512 the variable is set to
 * {@code SkylakeX} in this process before the library loads; {@code env} leaves the environment alone, any
 * other value is used as the core name. {@link #describe()} says what was loaded and which core runs.
 *
 * <p>Threads: {@code -Dmxd.threads} (the same property that sizes mxd's own thread pool), default all
 * available processors. After each call OpenBLAS's worker threads keep spinning for about a tenth of a second,
 * which takes a core from whatever runs next in the process; {@code -Dmxd.bench.openblasThreadTimeout=4}
 * makes them sleep at once ({@link SgemmPaired} sets it, as it alternates OpenBLAS with mxd).
 */
public final class OpenBlas {
    /** An explicit path of the OpenBLAS shared library. */
    public static final String PATH_PROPERTY = "mxd.bench.openblas";
    /** {@code auto} (default), {@code env}, or an OpenBLAS core name for {@code OPENBLAS_CORETYPE}. */
    public static final String CORE_PROPERTY = "mxd.bench.openblasCore";
    /**
     * {@code OPENBLAS_THREAD_TIMEOUT} (4 to 30: OpenBLAS's idle workers busy-wait 2^value cycles after a call
     * before they sleep); unset leaves OpenBLAS's default (2^28 cycles, a tenth of a second here).
     */
    public static final String THREAD_TIMEOUT_PROPERTY = "mxd.bench.openblasThreadTimeout";

    private static final int CBLAS_ROW_MAJOR = 101;
    private static final int CBLAS_NO_TRANS = 111;

    private static volatile Object loaded; // an OpenBlas, or the IllegalStateException that explains why not

    private final String library;
    private final MethodHandle sgemm;
    private final String config;
    private final String core;
    private final int threads;
    private final String coreNote;

    private OpenBlas(String library, SymbolLookup lookup, String coreNote) {
        Linker linker = Linker.nativeLinker();
        this.library = library;
        this.coreNote = coreNote;
        this.config = callString(linker, lookup, "openblas_get_config");
        this.core = callString(linker, lookup, "openblas_get_corename");
        // An ILP64 build takes 64-bit integers; Debian's is LP64, but say so rather than pass garbage.
        boolean int64 = config.contains("USE64BITINT");
        ValueLayout blasInt = int64 ? ValueLayout.JAVA_LONG : ValueLayout.JAVA_INT;
        MethodHandle raw = linker.downcallHandle(find(lookup, "cblas_sgemm"), FunctionDescriptor.ofVoid(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, blasInt, blasInt, blasInt,
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, blasInt, ValueLayout.ADDRESS, blasInt,
                ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, blasInt));
        this.sgemm = MethodHandles.explicitCastArguments(raw, MethodType.methodType(void.class,
                int.class, int.class, int.class, int.class, int.class, int.class, float.class, MemorySegment.class,
                int.class, MemorySegment.class, int.class, float.class, MemorySegment.class, int.class));
        this.threads = Integer.getInteger("mxd.threads", Runtime.getRuntime().availableProcessors());
        MethodHandle setThreads = linker.downcallHandle(find(lookup, "openblas_set_num_threads"),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        try {
            setThreads.invokeExact(threads);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads(" + threads + ") failed in " + library, t);
        }
    }

    /**
     * The process's OpenBLAS, loaded on first use.
     *
     * @throws IllegalStateException when no OpenBLAS library could be loaded, naming every place looked at
     *                               and the package that provides it
     */
    public static OpenBlas get() {
        Object o = loaded;
        if (o == null) {
            synchronized (OpenBlas.class) {
                o = loaded;
                if (o == null) {
                    try {
                        o = load();
                    } catch (IllegalStateException e) {
                        o = e;
                    }
                    loaded = o;
                }
            }
        }
        if (o instanceof IllegalStateException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        return (OpenBlas) o;
    }

    /**
     * {@code c = a · b}, row-major float32: {@code a} [m, k], {@code b} [k, n], {@code c} [m, n] overwritten
     * ({@code cblas_sgemm} with alpha 1, beta 0, no transposes). The segments must be native and at least
     * that large; the caller owns them.
     *
     * @throws IllegalArgumentException naming a non-positive size, a heap segment or a segment too small
     */
    public void sgemm(int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        if (m < 1 || n < 1 || k < 1) {
            throw new IllegalArgumentException("sgemm sizes must be >= 1, got m=" + m + " n=" + n + " k=" + k);
        }
        requireNative("a", a, (long) m * k);
        requireNative("b", b, (long) k * n);
        requireNative("c", c, (long) m * n);
        if (c.isReadOnly()) {
            throw new IllegalArgumentException("sgemm output c is a read-only segment");
        }
        try {
            sgemm.invokeExact(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, m, n, k, 1f, a, k, b, n, 0f, c, n);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    /** The core OpenBLAS runs its kernels for, e.g. {@code SkylakeX} or {@code Haswell}. */
    public String core() {
        return core;
    }

    /** One line: build configuration, core, threads, the file, and the environment this process gave it. */
    public String describe() {
        return config.strip() + ", core " + core + ", " + threads + " threads, " + library
                + (coreNote.isEmpty() ? "" : " (" + coreNote + ")");
    }

    private static OpenBlas load() {
        String coreNote = chooseCore();
        String timeout = System.getProperty(THREAD_TIMEOUT_PROPERTY);
        if (timeout != null && !timeout.isBlank()) {
            setenv("OPENBLAS_THREAD_TIMEOUT", timeout.strip());
            coreNote += (coreNote.isEmpty() ? "" : ", ") + "OPENBLAS_THREAD_TIMEOUT=" + timeout.strip();
        }
        String explicit = System.getProperty(PATH_PROPERTY);
        List<String> candidates = explicit != null && !explicit.isBlank() ? List.of(explicit.strip()) : candidates();
        List<String> failures = new ArrayList<>();
        for (String candidate : candidates) {
            SymbolLookup lookup;
            try {
                lookup = candidate.startsWith("/")
                        ? SymbolLookup.libraryLookup(Path.of(candidate), Arena.global())
                        : SymbolLookup.libraryLookup(candidate, Arena.global());
            } catch (IllegalArgumentException e) { // the library does not exist or dlopen refused it
                failures.add(candidate);
                continue;
            }
            if (lookup.find("cblas_sgemm").isEmpty() || lookup.find("openblas_get_corename").isEmpty()) {
                failures.add(candidate + " (loaded, but it has no cblas_sgemm/openblas_get_corename: not OpenBLAS)");
                continue;
            }
            return new OpenBlas(candidate, lookup, coreNote);
        }
        throw new IllegalStateException("OpenBLAS not found, so its baseline is skipped. Looked for "
                + String.join(", ", failures) + ". Install Debian's libopenblas0-pthread, or point -D"
                + PATH_PROPERTY + "=/path/to/libopenblas.so at one.");
    }

    /** Debian's pthread build first (the baseline DESIGN §8 names), then the linker's choice, then the rest. */
    private static List<String> candidates() {
        String arch = System.getProperty("os.arch", "");
        String triplet = switch (arch) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64", "arm64" -> "aarch64-linux-gnu";
            default -> arch + "-linux-gnu";
        };
        Set<String> c = new LinkedHashSet<>();
        c.add("/usr/lib/" + triplet + "/openblas-pthread/libopenblas.so.0");
        c.add("libopenblas.so.0");
        c.add("libopenblas.so");
        for (String dir : List.of("/usr/lib/" + triplet, "/usr/lib/" + triplet + "/openblas-openmp",
                "/usr/lib/" + triplet + "/openblas-serial", "/usr/lib64", "/usr/local/lib", "/opt/OpenBLAS/lib")) {
            c.add(dir + "/libopenblas.so.0");
            c.add(dir + "/libopenblas.so");
        }
        return List.copyOf(c);
    }

    /** Sets OPENBLAS_CORETYPE in this process (before the library reads it) as CORE_PROPERTY says. */
    private static String chooseCore() {
        String mode = System.getProperty(CORE_PROPERTY, "auto").strip();
        String inherited = System.getenv("OPENBLAS_CORETYPE");
        String wanted;
        if (mode.equalsIgnoreCase("env")) {
            return inherited == null ? "" : "OPENBLAS_CORETYPE=" + inherited + " from the environment";
        } else if (mode.equalsIgnoreCase("auto")) {
            if (!cpuHasAvx512()) {
                return inherited == null ? "" : "OPENBLAS_CORETYPE=" + inherited + " from the environment";
            }
            wanted = "SkylakeX";
        } else {
            wanted = mode;
        }
        if (wanted.equals(inherited)) {
            return "OPENBLAS_CORETYPE=" + wanted + " from the environment";
        }
        setenv("OPENBLAS_CORETYPE", wanted);
        return "OPENBLAS_CORETYPE=" + wanted + " set by -D" + CORE_PROPERTY + "=" + mode
                + (inherited == null ? "" : ", replacing " + inherited + " from the environment");
    }

    private static boolean cpuHasAvx512() {
        try {
            return Files.readString(Path.of("/proc/cpuinfo")).toLowerCase(Locale.ROOT).contains(" avx512f");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static void setenv(String name, String value) {
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.downcallHandle(find(linker.defaultLookup(), "setenv"), FunctionDescriptor.of(
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 1);
            if (rc != 0) {
                throw new IllegalStateException("setenv(" + name + ", " + value + ") returned " + rc);
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv(" + name + ", " + value + ") failed", t);
        }
    }

    private static String callString(Linker linker, SymbolLookup lookup, String function) {
        MethodHandle h = linker.downcallHandle(find(lookup, function), FunctionDescriptor.of(ValueLayout.ADDRESS));
        try {
            MemorySegment s = (MemorySegment) h.invokeExact();
            return s.equals(MemorySegment.NULL) ? "?" : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(function + "() failed", t);
        }
    }

    private static MemorySegment find(SymbolLookup lookup, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new IllegalStateException("symbol " + symbol + " not found"));
    }

    private static void requireNative(String name, MemorySegment s, long floats) {
        if (!s.isNative()) {
            throw new IllegalArgumentException("sgemm argument " + name + " must be a native segment (OpenBLAS reads"
                    + " raw addresses), got a heap segment");
        }
        if (s.byteSize() < floats * Float.BYTES) {
            throw new IllegalArgumentException("sgemm argument " + name + " needs " + floats * Float.BYTES
                    + " bytes, has " + s.byteSize());
        }
    }
}
