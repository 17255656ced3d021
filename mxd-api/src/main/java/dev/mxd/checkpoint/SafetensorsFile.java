package dev.mxd.checkpoint;

import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, memory-mapped read-only as one {@link MemorySegment} (no 2 GiB limit) and checked
 * on open. The format: an 8-byte little-endian unsigned header length {@code n}, {@code n} bytes of UTF-8
 * JSON (an object mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}},
 * plus an optional {@code "__metadata__"} object of strings), then the data section; offsets are relative
 * to the start of the data section, tensors are row-major and little-endian.
 *
 * <p>What {@link #open} checks, each failure an {@link IllegalArgumentException} naming the file, the
 * tensor and the offsets or the expected and actual values: the header length lies within the file (and
 * within the format's 100,000,000-byte limit); the header is strict UTF-8 and a JSON object without
 * duplicate keys; every entry has a known dtype ({@link DType}), a shape of non-negative integers and two
 * data offsets with begin ≤ end ≤ the data section's size; {@code end − begin} equals the element count
 * times the dtype's size; no two tensors share a byte. Holes between tensors and bytes after the last one
 * are accepted (the format's reference implementation rejects them; nothing here depends on their
 * absence). Extra keys in a tensor entry are ignored, and the header may start with whitespace.
 *
 * <p>Ownership: the caller closes this file; {@link #close()} unmaps it, after which every {@link Tensor}
 * obtained from {@link #tensor(String)} is invalid (access throws {@link IllegalStateException}). Tensors
 * may be read from several threads. The file must not be truncated while it is open: reading a mapped
 * page past the new end of file is a fault.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The largest header the safetensors format allows (its reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    static final String METADATA_KEY = "__metadata__";

    private final Path path;
    private final Arena arena;
    private final long dataStart;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, long dataStart, Map<String, Tensor> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.dataStart = dataStart;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Maps and checks {@code path}. On any failure the mapping is released before the exception leaves.
     *
     * @throws IOException              when the file is missing, is a directory, or cannot be read or mapped
     * @throws IllegalArgumentException when the content is not a valid safetensors file (see the class
     *                                  comment for what is checked)
     */
    public static SafetensorsFile open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            // Linux opens a directory for reading and fails only at the mapping, with "No such device".
            throw new FileSystemException(path.toString(), null, "is a directory, not a safetensors file");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = channel.size();
                if (size < 8) {
                    throw new IllegalArgumentException(path + " is " + size + " bytes long, shorter than the 8-byte"
                            + " header length that starts a safetensors file");
                }
                // The mapping outlives the channel: it is released when the arena closes.
                file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            return parse(path, arena, file);
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment file) {
        long size = file.byteSize();
        long headerLength = file.get(Tensor.I64_LE, 0);
        if (headerLength < 0 || headerLength > size - 8) {
            throw new IllegalArgumentException(path + ": header length " + Long.toUnsignedString(headerLength)
                    + " (bytes 0-7) runs past the end of the file: 8 + " + Long.toUnsignedString(headerLength)
                    + " > " + size + " bytes; the file is truncated or not a safetensors file");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException(path + ": header length " + headerLength + " exceeds the format's limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        String source = "header of " + path;
        byte[] headerBytes = file.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        Map<String, Object> header = Json.parseObject(Json.decodeUtf8(headerBytes, source, 8), source);

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                metadata = metadata(path, e.getValue());
            } else {
                entries.add(entry(path, e.getKey(), e.getValue(), dataSize, dataStart));
            }
        }
        checkNoOverlap(path, entries);

        MemorySegment data = file.asSlice(dataStart);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            tensors.put(e.name, new Tensor(e.dtype, e.shape, data.asSlice(e.begin, e.end - e.begin)));
        }
        return new SafetensorsFile(path, arena, dataStart, tensors, metadata);
    }

    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        String range() {
            return "[" + begin + ", " + end + "]";
        }
    }

    private static Map<String, String> metadata(Path path, Object value) {
        if (!(value instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(path + ": " + METADATA_KEY + " must be an object of strings, it is "
                    + Json.kind(value));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new IllegalArgumentException(path + ": " + METADATA_KEY + "." + e.getKey()
                        + " must be a string, it is " + Json.kind(e.getValue()));
            }
            out.put((String) e.getKey(), s);
        }
        return out;
    }

    private static Entry entry(Path path, String name, Object value, long dataSize, long dataStart) {
        String what = path + ": tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(what + " must be an object with dtype, shape and data_offsets, it is "
                    + Json.kind(value));
        }
        Object dtypeName = m.get("dtype");
        if (!(dtypeName instanceof String dn)) {
            throw new IllegalArgumentException(what + " has " + (dtypeName == null ? "no dtype" : "a dtype that is "
                    + Json.kind(dtypeName) + ", not a string"));
        }
        DType dtype = DType.fromName(dn).orElseThrow(() -> new IllegalArgumentException(what + " has dtype '" + dn
                + "', which is unknown or unsupported (mxd reads " + Arrays.toString(DType.values()) + ")"));
        long[] shape = longs(what, "shape", m.get("shape"), -1);
        long[] offsets = longs(what, "data_offsets", m.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw new IllegalArgumentException(what + " has " + range + ": begin is past end");
        }
        if (end > dataSize) {
            throw new IllegalArgumentException(what + " has " + range + ", past the end of the data section, which"
                    + " holds " + dataSize + " bytes (file offsets " + dataStart + " to " + (dataStart + dataSize)
                    + "): the file is truncated or the offsets are wrong");
        }
        long expected;
        try {
            expected = Math.multiplyExact(Tensor.elementCount(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + ": shape " + Arrays.toString(shape) + " overflows a 64-bit byte count");
        }
        if (end - begin != expected) {
            throw new IllegalArgumentException(what + " (" + dtype + " " + Arrays.toString(shape) + ") needs "
                    + expected + " bytes, but its " + range + " hold " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers that fit a long; {@code length} −1 for any length. */
    private static long[] longs(String what, String field, Object value, int length) {
        if (!(value instanceof List<?> list)) {
            throw new IllegalArgumentException(what + " has " + (value == null ? "no " + field
                    : field + " that is " + Json.kind(value) + ", not an array"));
        }
        if (length >= 0 && list.size() != length) {
            throw new IllegalArgumentException(what + " has " + field + " " + list + " of " + list.size()
                    + " values; it needs " + length);
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            boolean integral = v instanceof Integer || v instanceof Long
                    || v instanceof BigInteger b && b.bitLength() < 64;
            if (!integral || ((Number) v).longValue() < 0) {
                throw new IllegalArgumentException(what + " has " + field + " " + list + ": " + v
                        + " is not an integer in [0, 2^63)");
            }
            out[i] = ((Number) v).longValue();
        }
        return out;
    }

    /** Tensors with at least one byte must not share any; empty tensors own no bytes and cannot overlap. */
    private static void checkNoOverlap(Path path, List<Entry> entries) {
        List<Entry> sorted = new ArrayList<>();
        for (Entry e : entries) {
            if (e.end > e.begin) {
                sorted.add(e);
            }
        }
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin < prev.end) {
                throw new IllegalArgumentException(path + ": tensors '" + prev.name + "' (data_offsets " + prev.range()
                        + ") and '" + cur.name + "' (data_offsets " + cur.range() + ") overlap");
            }
        }
    }

    /** The file this was mapped from. */
    public Path path() {
        return path;
    }

    /** The tensor names in header order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** Whether the file holds a tensor of that name. */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The tensor {@code name}: a read-only view into the mapping, valid until {@link #close()}.
     *
     * @throws IllegalArgumentException for a name the file does not hold
     * @throws IllegalStateException    after close
     */
    public Tensor tensor(String name) {
        ensureOpen();
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException(path + " has no tensor '" + name + "'; it has " + tensors.keySet());
        }
        return t;
    }

    /** The header's {@code __metadata__} (string to string, in header order; empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The file offset where the data section starts ({@code 8 + header length}). */
    public long dataStart() {
        return dataStart;
    }

    public boolean isOpen() {
        return arena.scope().isAlive();
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (arena.scope().isAlive()) {
                arena.close();
            }
        }
    }

    private void ensureOpen() {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException(path + " is closed");
        }
    }
}
