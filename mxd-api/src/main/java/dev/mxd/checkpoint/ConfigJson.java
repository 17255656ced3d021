package dev.mxd.checkpoint;

import dev.mxd.MxdConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code cfg.json} (DESIGN §4): a JSON object with the reference config's field names, read into and
 * written from {@link MxdConfig} through {@link MxdConfig#fromReferenceFields} and
 * {@link MxdConfig#toReferenceFields}. Fields mxd does not model (training settings, nested objects, the
 * reference's bookkeeping) are kept as plain JSON values and written back unchanged, in their order, after
 * the modelled fields. The same text is what {@link ModelFiles} stores under the safetensors header's
 * {@code __metadata__.cfg}.
 */
public final class ConfigJson {
    /** The file name beside the weights. */
    public static final String FILE_NAME = "cfg.json";

    private ConfigJson() {
    }

    /**
     * Reads a config file.
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException for invalid UTF-8, malformed JSON (naming the line and column), a
     *                                  value that is not an object, or a config {@link MxdConfig} rejects;
     *                                  the message starts with the file
     */
    public static MxdConfig read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String source = file.toString();
        return parse(Json.decodeUtf8(bytes, source, 0), source);
    }

    /**
     * Parses config JSON text.
     *
     * @param source where the text comes from, for messages (a file, or a header key)
     * @throws IllegalArgumentException as {@link #read}
     */
    public static MxdConfig parse(String json, String source) {
        Map<String, Object> fields = Json.parseObject(json, source);
        try {
            return MxdConfig.fromReferenceFields(fields);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** The config as indented JSON text (no trailing newline): modelled fields first, then the others. */
    public static String toJson(MxdConfig config) {
        return Json.writePretty(config.toReferenceFields());
    }

    /** Writes {@code config} to {@code file}, replacing it atomically (a failed write leaves the old file). */
    public static void write(MxdConfig config, Path file) throws IOException {
        AtomicWrite.writeString(file, toJson(config));
    }
}
