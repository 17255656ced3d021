package dev.mxd.train;

import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Activation data on disk (DESIGN §4): {@code DIR/train/*.safetensors} and {@code DIR/eval/*.safetensors},
 * each shard holding {@code x} [T, I] and {@code t} [T, O] (F32; F16, BF16 and F64 are converted to float32
 * as rows are read; other tensors such as {@code doc}, {@code pos}, {@code token} are ignored here). Shards
 * are taken in file-name order and memory-mapped whole, so a split larger than RAM is read from the page
 * cache as training goes; rows are never copied up front.
 *
 * <p>A missing or empty {@code DIR/train} is an error at {@link #open}; a missing {@code DIR/eval} gives an
 * empty held-out split (an evaluation then fails, naming it).
 *
 * <p>Ownership: the caller closes the directory, which unmaps every shard.
 */
public final class ActivationDirectory implements ActivationSource {
    private final Path dir;
    private final List<SafetensorsFile> files;
    private final int in, out;
    private final ShardSplit train, eval;

    private ActivationDirectory(Path dir, List<SafetensorsFile> files, int in, int out, ShardSplit train,
                                ShardSplit eval) {
        this.dir = dir;
        this.files = files;
        this.in = in;
        this.out = out;
        this.train = train;
        this.eval = eval;
    }

    /**
     * Opens and checks every shard.
     *
     * @throws IOException              when a shard cannot be read
     * @throws IllegalArgumentException for a missing or empty training split, a shard without {@code x} or
     *                                  {@code t}, a non-floating dtype, or shapes that disagree (naming the shard
     *                                  and both shapes); nothing stays mapped after a throw
     */
    public static ActivationDirectory open(Path dir) throws IOException {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            List<Path> trainFiles = shards(dir.resolve("train"), true);
            List<Path> evalFiles = shards(dir.resolve("eval"), false);
            int[] widths = {-1, -1};
            List<Shard> trainShards = new ArrayList<>();
            for (Path p : trainFiles) {
                trainShards.add(shard(p, widths, opened));
            }
            List<Shard> evalShards = new ArrayList<>();
            for (Path p : evalFiles) {
                evalShards.add(shard(p, widths, opened));
            }
            ShardSplit train = new ShardSplit(trainShards, widths[0], widths[1]);
            if (train.tokens() == 0) {
                throw new IllegalArgumentException(dir.resolve("train") + " holds no tokens (every shard is empty)");
            }
            return new ActivationDirectory(dir, List.copyOf(opened), widths[0], widths[1], train,
                    new ShardSplit(evalShards, widths[0], widths[1]));
        } catch (IOException | RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static List<Path> shards(Path split, boolean required) throws IOException {
        if (!Files.isDirectory(split)) {
            if (required) {
                throw new IllegalArgumentException("no training split: " + split + " is not a directory");
            }
            return List.of();
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(split)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        if (required && files.isEmpty()) {
            throw new IllegalArgumentException("no training split: " + split + " holds no .safetensors shard");
        }
        return files;
    }

    private static Shard shard(Path p, int[] widths, List<SafetensorsFile> opened) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(p);
        opened.add(f);
        for (String name : new String[] {"x", "t"}) {
            if (!f.contains(name)) {
                throw new IllegalArgumentException(p + " has no tensor '" + name + "' (an activation shard holds x [T, I]"
                        + " and t [T, O])");
            }
        }
        Tensor x = f.tensor("x"), t = f.tensor("t");
        for (Tensor v : new Tensor[] {x, t}) {
            if (!v.dtype().isFloating() || v.shape().length != 2) {
                throw new IllegalArgumentException(p + ": tensor " + (v == x ? "x" : "t") + " is " + v
                        + ", expected a 2-D floating tensor");
            }
        }
        long[] xs = x.shape(), ts = t.shape();
        if (xs[0] != ts[0]) {
            throw new IllegalArgumentException(p + ": x has " + xs[0] + " rows and t has " + ts[0]
                    + "; they must be the same tokens");
        }
        if (widths[0] < 0) {
            widths[0] = Math.toIntExact(xs[1]);
            widths[1] = Math.toIntExact(ts[1]);
        } else if (xs[1] != widths[0] || ts[1] != widths[1]) {
            throw new IllegalArgumentException(p + ": x is " + x + " and t is " + t + ", but earlier shards have I = "
                    + widths[0] + " and O = " + widths[1]);
        }
        return new Shard(p, x, t, xs[0]);
    }

    @Override
    public int inputDim() {
        return in;
    }

    @Override
    public int outputDim() {
        return out;
    }

    @Override
    public Split train() {
        return train;
    }

    @Override
    public Split eval() {
        return eval;
    }

    /** The directory this was opened from. */
    public Path directory() {
        return dir;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    private record Shard(Path path, Tensor x, Tensor t, long rows) {
    }

    /** Shards back to back: row r of the split is row r − start of the shard that holds it. */
    private static final class ShardSplit implements Split {
        private final List<Shard> shards;
        private final long[] start;
        private final int in, out;
        private final long tokens;

        ShardSplit(List<Shard> shards, int in, int out) {
            this.shards = shards;
            this.in = in;
            this.out = out;
            this.start = new long[shards.size() + 1];
            for (int i = 0; i < shards.size(); i++) {
                start[i + 1] = start[i] + shards.get(i).rows();
            }
            this.tokens = start[shards.size()];
        }

        @Override
        public long tokens() {
            return tokens;
        }

        @Override
        public void read(long row, int count, float[] x, float[] t, int at) {
            Objects.checkFromIndexSize(row, count, tokens);
            int done = 0;
            while (done < count) {
                long r = row + done;
                int s = shardOf(r);
                Shard sh = shards.get(s);
                long local = r - start[s];
                int n = (int) Math.min(count - done, sh.rows() - local);
                copy(sh.x(), local * in, x, (at + done) * in, n * in);
                copy(sh.t(), local * out, t, (at + done) * out, n * out);
                done += n;
            }
        }

        private int shardOf(long row) {
            int i = Arrays.binarySearch(start, row);
            // an exact hit on a boundary may land on an empty shard: move to the last shard starting there
            int s = i >= 0 ? i : -i - 2;
            while (s + 1 < shards.size() && start[s + 1] <= row) {
                s++;
            }
            return s;
        }

        private static void copy(Tensor src, long from, float[] dst, int to, int count) {
            MemorySegment s = src.data();
            switch (src.dtype()) {
                case F32 -> MemorySegment.copy(s, Tensor.F32_LE, from * 4, dst, to, count);
                case F64 -> {
                    for (int i = 0; i < count; i++) {
                        dst[to + i] = (float) s.getAtIndex(Tensor.F64_LE, from + i);
                    }
                }
                case F16 -> {
                    for (int i = 0; i < count; i++) {
                        dst[to + i] = Float.float16ToFloat(s.getAtIndex(Tensor.I16_LE, from + i));
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < count; i++) {
                        dst[to + i] = Float.intBitsToFloat((s.getAtIndex(Tensor.I16_LE, from + i) & 0xFFFF) << 16);
                    }
                }
                default -> throw new IllegalStateException("not a floating dtype: " + src.dtype());
            }
        }

        @Override
        public String describe(long row) {
            int s = shardOf(row);
            return shards.get(s).path() + " row " + (row - start[s]);
        }
    }
}
