package dev.mxd.text.harvest;

import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Where each row of one split of a harvested activation directory comes from (DESIGN §4): the {@code doc},
 * {@code pos} and {@code token} tensors [T] I32 of {@code DIR/<split>/*.safetensors}, shards in file-name order
 * as {@link dev.mxd.train.ActivationDirectory} takes them, so row r here is row r there. Shards stay
 * memory-mapped; nothing is copied.
 *
 * <p>Ownership: the caller closes it, which unmaps the shards.
 */
public final class Provenance implements AutoCloseable {
    private final List<SafetensorsFile> files;
    private final Tensor[] doc, pos, token;
    private final long[] start;

    private Provenance(List<SafetensorsFile> files, Tensor[] doc, Tensor[] pos, Tensor[] token, long[] start) {
        this.files = files;
        this.doc = doc;
        this.pos = pos;
        this.token = token;
        this.start = start;
    }

    /**
     * Opens the provenance of {@code splitDir} ({@code DIR/train} or {@code DIR/eval}).
     *
     * @throws IllegalArgumentException when a shard lacks {@code doc}, {@code pos} or {@code token}, or they are not
     *                                  I32 vectors of the shard's row count (naming the shard); nothing stays
     *                                  mapped after a throw
     */
    public static Provenance open(Path splitDir) throws IOException {
        List<Path> paths;
        if (!Files.isDirectory(splitDir)) {
            throw new IllegalArgumentException(splitDir + " is not a directory");
        }
        try (Stream<Path> s = Files.list(splitDir)) {
            paths = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            int n = paths.size();
            Tensor[] doc = new Tensor[n], pos = new Tensor[n], token = new Tensor[n];
            long[] start = new long[n + 1];
            for (int i = 0; i < n; i++) {
                SafetensorsFile f = SafetensorsFile.open(paths.get(i));
                opened.add(f);
                long rows = f.contains("x") && f.tensor("x").shape().length == 2 ? f.tensor("x").shape()[0] : -1;
                doc[i] = vector(f, "doc", rows);
                pos[i] = vector(f, "pos", rows);
                token[i] = vector(f, "token", rows);
                start[i + 1] = start[i] + doc[i].shape()[0];
            }
            return new Provenance(List.copyOf(opened), doc, pos, token, start);
        } catch (IOException | RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Tensor vector(SafetensorsFile f, String name, long rows) {
        if (!f.contains(name)) {
            throw new IllegalArgumentException(f.path() + " has no tensor '" + name + "': it was not written by"
                    + " ./mxd harvest, which records where each row comes from (doc, pos, token)");
        }
        Tensor t = f.tensor(name);
        if (t.dtype() != DType.I32 || t.shape().length != 1 || (rows >= 0 && t.shape()[0] != rows)) {
            throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' is " + t + ", expected I32 ["
                    + (rows >= 0 ? rows : "T") + "]");
        }
        return t;
    }

    /** Rows in the split. */
    public long tokens() {
        return start[start.length - 1];
    }

    /** The document (corpus index) of row {@code row}. */
    public int doc(long row) {
        return get(doc, row);
    }

    /** The position of row {@code row} in its document's sequence ({@code [CLS]} = 0). */
    public int pos(long row) {
        return get(pos, row);
    }

    /** The token id of row {@code row}. */
    public int token(long row) {
        return get(token, row);
    }

    private int get(Tensor[] of, long row) {
        Objects.checkIndex(row, tokens());
        int i = Arrays.binarySearch(start, row);
        int s = i >= 0 ? i : -i - 2;
        while (s + 1 < of.length && start[s + 1] <= row) {
            s++;   // skip empty shards that start at the same row
        }
        return of[s].data().getAtIndex(Tensor.I32_LE, row - start[s]);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
