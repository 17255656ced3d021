package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The suite's bounded fuzzing pass: the committed seeds of {@link LoaderFuzzTest} mutated at random for a few
 * seconds a target ({@code mxd.fuzz.seconds}, default 3; the seed is printed and taken from {@code mxd.fuzz.seed}),
 * each input judged by {@link LoaderTargets}. Not coverage-guided (that is {@link LoaderFuzzTest} with
 * {@code JAZZER_FUZZ=1}), but aimed where the formats lie: lengths, offsets and shapes replaced by extreme
 * numbers, in binary and in the JSON text, cuts, splices and flipped bytes.
 */
class LoaderMutationTest {
    private static final long SECONDS = Long.getLong("mxd.fuzz.seconds", 3);
    private static final long SEED = Long.getLong("mxd.fuzz.seed", System.nanoTime());
    private static final long[] EXTREMES = {0, 1, -1, 7, 8, 255, 65535, Integer.MAX_VALUE, 1L << 31, 1L << 32,
            (1L << 40) + 8, Long.MAX_VALUE, Long.MIN_VALUE, 100_000_001L};
    private static final String[] EXTREME_TEXT = {"0", "-1", "2147483648", "9223372036854775807",
            "18446744073709551616", "1e309", "NaN", "-0", "1.5", "null", "[]", "{}", "\"\"", "99999999999"};

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"safetensors", "torch", "config"})
    void mutatedInputsAreLoadedOrRefusedCleanly(String target) throws IOException {
        LoaderTargets targets = new LoaderTargets(dir);
        Consumer<byte[]> load = switch (target) {
            case "safetensors" -> targets::safetensors;
            case "torch" -> targets::torch;
            default -> targets::config;
        };
        List<byte[]> seeds = LoaderTargets.seeds(target);
        SplittableRandom random = new SplittableRandom(SEED ^ target.hashCode());
        long inputs = 0;
        for (byte[] s : seeds) {
            load.accept(s);
            inputs++;
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        while (System.nanoTime() < end) {
            byte[] input = seeds.get(random.nextInt(seeds.size()));
            for (int n = 1 + random.nextInt(3); n > 0; n--) {
                input = mutate(input, seeds, random);
            }
            byte[] shown = input;
            try {
                load.accept(input);
            } catch (Throwable t) {
                throw new AssertionError(target + " input #" + inputs + " (seed " + SEED + ", " + input.length
                        + " bytes, base64 " + java.util.Base64.getEncoder().encodeToString(shown) + ")", t);
            }
            inputs++;
        }
        System.out.printf("%s: %,d inputs in %d s, every one loaded or refused cleanly (seed %d)%n", target, inputs,
                SECONDS, SEED);
        assertTrue(inputs > seeds.size(), "no mutated input was tried");
    }

    static byte[] mutate(byte[] in, List<byte[]> seeds, SplittableRandom r) {
        if (in.length == 0) {
            return seeds.get(r.nextInt(seeds.size())).clone();
        }
        byte[] b = in.clone();
        switch (r.nextInt(7)) {
            case 0 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
            case 1 -> {   // an extreme 8- or 4-byte little-endian number: a length, an offset, a zip field
                long v = EXTREMES[r.nextInt(EXTREMES.length)];
                int width = r.nextBoolean() ? 8 : 4;
                if (b.length >= width) {
                    int at = r.nextInt(10) < 3 ? 0 : r.nextInt(b.length - width + 1);
                    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                    if (width == 8) {
                        bb.putLong(at, v);
                    } else {
                        bb.putInt(at, (int) v);
                    }
                }
            }
            case 2 -> b = Arrays.copyOf(b, r.nextInt(b.length));
            case 3 -> {   // a number in the text (JSON header, cfg.json, pickle text) replaced by an extreme one
                String s = new String(b, StandardCharsets.ISO_8859_1);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("-?\\d+(\\.\\d+)?").matcher(s);
                List<java.util.regex.MatchResult> all = m.results().toList();
                if (!all.isEmpty()) {
                    java.util.regex.MatchResult pick = all.get(r.nextInt(all.size()));
                    String rep = EXTREME_TEXT[r.nextInt(EXTREME_TEXT.length)];
                    b = (s.substring(0, pick.start()) + rep + s.substring(pick.end())).getBytes(StandardCharsets.ISO_8859_1);
                }
            }
            case 4 -> {   // a slice of another seed spliced in
                byte[] other = seeds.get(r.nextInt(seeds.size()));
                int from = r.nextInt(other.length), len = r.nextInt(Math.min(64, other.length - from) + 1);
                int at = r.nextInt(b.length);
                byte[] out = new byte[b.length + len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(other, from, out, at, len);
                System.arraycopy(b, at, out, at + len, b.length - at);
                b = out;
            }
            case 5 -> {   // a range deleted
                int at = r.nextInt(b.length), len = r.nextInt(Math.min(32, b.length - at) + 1);
                byte[] out = new byte[b.length - len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + len, out, at, b.length - at - len);
                b = out;
            }
            default -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        }
        return b;
    }
}
