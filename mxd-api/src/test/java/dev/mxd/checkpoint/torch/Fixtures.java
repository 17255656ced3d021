package dev.mxd.checkpoint.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * The fixtures written by tools/fixtures/make_pt_fixtures.py, and a minimal safetensors reader and writer
 * for the tests (enough for the fixture files; not the library's checkpoint code).
 */
final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {
    }

    /** {@code fixtures/pt/<name>.pt} from the test resources. */
    static Path pt(String name) {
        return resource(name + ".pt");
    }

    /** The {@code <name>.expected.safetensors} beside a fixture: x, y and weights/<key>. */
    static Map<String, Entry> expected(String name) {
        return readSafetensors(resource(name + ".expected.safetensors"));
    }

    private static Path resource(String file) {
        URL url = Fixtures.class.getResource("/fixtures/pt/" + file);
        if (url == null) {
            throw new IllegalStateException("missing test fixture " + file
                    + "; run /usr/bin/python3 tools/fixtures/make_pt_fixtures.py");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One safetensors tensor: dtype name, shape and little-endian bytes. */
    record Entry(String dtype, long[] shape, ByteBuffer data) {
        float[] floats() {
            if (!dtype.equals("F32")) {
                throw new IllegalStateException("tensor is " + dtype + ", not F32");
            }
            float[] out = new float[data.remaining() / 4];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }

        double[] doubles() {
            if (!dtype.equals("F64")) {
                throw new IllegalStateException("tensor is " + dtype + ", not F64");
            }
            double[] out = new double[data.remaining() / 8];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
            return out;
        }
    }

    static Map<String, Entry> readSafetensors(Path file) {
        try {
            byte[] all = Files.readAllBytes(file);
            ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            int headerLength = Math.toIntExact(buf.getLong(0));
            JsonNode header = JSON.readTree(new String(all, 8, headerLength, StandardCharsets.UTF_8));
            Map<String, Entry> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : header.properties()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode info = e.getValue();
                long[] shape = new long[info.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = info.get("shape").get(i).asLong();
                }
                int begin = 8 + headerLength + info.get("data_offsets").get(0).asInt();
                int end = 8 + headerLength + info.get("data_offsets").get(1).asInt();
                out.put(e.getKey(), new Entry(info.get("dtype").asText(), shape,
                        ByteBuffer.wrap(all, begin, end - begin).slice()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes F32/F64 tensors (float[] or double[] values with their shapes) as a safetensors file. */
    static void writeSafetensors(Path file, Map<String, Object> values, Map<String, long[]> shapes) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, Object> e : values.entrySet()) {
            boolean f64 = e.getValue() instanceof double[];
            long bytes = f64 ? ((double[]) e.getValue()).length * 8L : ((float[]) e.getValue()).length * 4L;
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", f64 ? "F64" : "F32");
            info.putPOJO("shape", shapes.get(e.getKey()));
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] text = JSON.writeValueAsBytes(header);
        int padded = (text.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(text);
        for (int i = text.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (Object v : values.values()) {
            if (v instanceof double[] d) {
                for (double x : d) {
                    out.putDouble(x);
                }
            } else {
                for (float x : (float[]) v) {
                    out.putFloat(x);
                }
            }
        }
        Files.write(file, out.array());
    }

    /**
     * Copies a zip, letting {@code edit} replace each entry's bytes (given its name and bytes) or drop the
     * entry by returning null.
     */
    static Path rewriteZip(Path source, Path target, BiFunction<String, byte[], byte[]> edit) throws IOException {
        return rewriteZip(source, target, edit, Map.of());
    }

    /** {@link #rewriteZip(Path, Path, BiFunction)}, then appends the entries of {@code extra}. */
    static Path rewriteZip(Path source, Path target, BiFunction<String, byte[], byte[]> edit, Map<String, byte[]> extra)
            throws IOException {
        try (ZipFile in = new ZipFile(source.toFile());
             OutputStream file = Files.newOutputStream(target);
             ZipOutputStream out = new ZipOutputStream(file)) {
            for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements(); ) {
                ZipEntry e = entries.nextElement();
                byte[] data = edit.apply(e.getName(), in.getInputStream(e).readAllBytes());
                if (data != null) {
                    out.putNextEntry(new ZipEntry(e.getName()));
                    out.write(data);
                    out.closeEntry();
                }
            }
            for (Map.Entry<String, byte[]> e : extra.entrySet()) {
                out.putNextEntry(new ZipEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return target;
    }

    /** Replaces every occurrence of {@code from} by {@code to} (ASCII) in {@code data}. */
    static byte[] replace(byte[] data, String from, String to) {
        String s = new String(data, StandardCharsets.ISO_8859_1);
        if (!s.contains(from)) {
            throw new IllegalStateException("pattern '" + from + "' not in the data");
        }
        return s.replace(from, to).getBytes(StandardCharsets.ISO_8859_1);
    }
}
