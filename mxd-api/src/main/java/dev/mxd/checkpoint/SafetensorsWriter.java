package dev.mxd.checkpoint;

import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes safetensors files (the layout {@link SafetensorsFile} reads), atomically: the bytes go to a
 * temporary file beside the target, are forced to disk and renamed over it, so a failed write leaves any
 * previous file byte for byte as it was and a reader never sees half a file.
 *
 * <p>Tensors are written in the map's iteration order, back to back, with any {@link dev.mxd.tensor.DType}
 * (DESIGN §4: weights F32, indices I32, counters I64). The JSON header is padded with spaces to a multiple
 * of 8 bytes, so the data section starts 8-byte aligned. Nothing is converted: each tensor's bytes are
 * copied as they are.
 */
public final class SafetensorsWriter {
    /** Bytes handed to the channel per write: a {@link ByteBuffer} view is limited to 2 GiB. */
    static final long CHUNK_BYTES = 1L << 24;

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} and {@code metadata} to {@code file}, replacing it atomically. The tensors are
     * only read; the caller keeps ownership of their memory, which must stay valid during the call.
     *
     * @param tensors  name → tensor, written in iteration order (use a {@code LinkedHashMap} to choose it)
     * @param metadata stored as the header's {@code __metadata__} (string values only); omitted when empty
     * @throws IllegalArgumentException for an empty name or the reserved name {@code __metadata__}
     * @throws IOException              when writing fails; the previous file is then intact and no temporary
     *                                  file remains
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        AtomicWrite.write(file, content(tensors, metadata));
    }

    /** The whole file (header and data) as one writer, checked before anything is written. */
    static AtomicWrite.Content content(Map<String, Tensor> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        List<Tensor> order = new ArrayList<>(tensors.size());
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            Map<String, String> meta = new LinkedHashMap<>();
            metadata.forEach((k, v) -> meta.put(Objects.requireNonNull(k, "metadata key"),
                    Objects.requireNonNull(v, () -> "metadata value of '" + k + "'")));
            header.put(SafetensorsFile.METADATA_KEY, meta);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(SafetensorsFile.METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name '" + name + "' is not allowed in a safetensors file");
            }
            Tensor t = Objects.requireNonNull(e.getValue(), () -> "tensor '" + name + "'");
            long end = offset + t.data().byteSize();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().name());
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, end});
            header.put(name, entry);
            order.add(t);
            offset = end;
        }
        byte[] json = Json.writeCompact(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        if (padded > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("the header of " + tensors.size() + " tensors takes " + padded
                    + " bytes, over the format's limit of " + SafetensorsFile.MAX_HEADER_BYTES);
        }
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        return out -> {
            AtomicWrite.writeFully(out, head);
            for (Tensor t : order) {
                writeSegment(out, t.data());
            }
        };
    }

    private static void writeSegment(WritableByteChannel out, MemorySegment data) throws IOException {
        long size = data.byteSize();
        // A heap segment over float[] or int[] has no ByteBuffer view: stage it through a byte[] chunk.
        byte[] staging = data.isNative() ? null : new byte[(int) Math.min(CHUNK_BYTES, size)];
        for (long at = 0; at < size; at += CHUNK_BYTES) {
            int len = (int) Math.min(CHUNK_BYTES, size - at);
            if (staging == null) {
                AtomicWrite.writeFully(out, data.asSlice(at, len).asByteBuffer());
            } else {
                MemorySegment.copy(data, ValueLayout.JAVA_BYTE, at, staging, 0, len);
                AtomicWrite.writeFully(out, ByteBuffer.wrap(staging, 0, len));
            }
        }
    }
}
