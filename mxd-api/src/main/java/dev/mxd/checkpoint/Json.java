package dev.mxd.checkpoint;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The one place where mxd reads and writes JSON: safetensors headers, {@code cfg.json}, training-checkpoint
 * metadata, and the files and output of the command line ({@code manifest.json}, {@code results.json},
 * {@code ./mxd eval --json}). Values are plain Java both ways: objects as insertion-ordered
 * {@code LinkedHashMap}s (any {@code Map} when writing), arrays as {@code List}s, numbers as
 * Integer/Long/BigInteger or Double, plus String, Boolean and null, so fields mxd does not know survive a read
 * and a write unchanged and in order. Jackson stays behind this class: no other class of mxd names it.
 */
public final class Json {
    /**
     * Duplicate keys are an error rather than "last one wins": in a safetensors header a duplicated tensor
     * name would otherwise silently hide one of two data ranges. Trailing content after the value is an
     * error too (whitespace, including the header's space padding, is not content).
     */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final ObjectWriter COMPACT = MAPPER.writer();

    /** Two-space indentation and {@code "key": value}, the way Python's {@code json.dump(indent=2)} writes. */
    private static final ObjectWriter PRETTY = MAPPER.writer(new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withArrayEmptySeparator("")
                    .withObjectEmptySeparator(""))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n")));

    private Json() {
    }

    /**
     * Decodes strict UTF-8: a malformed or truncated sequence is an error naming its byte offset, never a
     * replacement character.
     *
     * @param source     what the bytes are, for the message (e.g. "header of /m/mxd.safetensors")
     * @param fileOffset where {@code bytes[0]} sits in its file, so the message can give a file offset
     */
    static String decodeUtf8(byte[] bytes, String source, long fileOffset) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            throw new IllegalArgumentException(source + " is not valid UTF-8: " + (r.isMalformed() ? "malformed" : "unmappable") + " sequence of "
                    + r.length() + " byte(s) at byte " + at + " (file offset " + (fileOffset + at) + ")");
        }
        return out.flip().toString();
    }

    /**
     * Parses one JSON value.
     *
     * @param source what the text is, for the message
     * @throws IllegalArgumentException on malformed JSON, naming {@code source}, line, column and character
     */
    public static Object parse(String text, String source) {
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()
                    + " (character " + at.getCharOffset() + ")";
            throw new IllegalArgumentException(source + " is malformed JSON" + where + ": " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Parses a JSON object.
     *
     * @throws IllegalArgumentException on malformed JSON or when the value is not an object
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text, String source) {
        Object value = parse(text, source);
        if (value instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new IllegalArgumentException(source + " is not a JSON object: it is " + kind(value));
    }

    /** The JSON kind of a parsed value, for messages: "an array", "a string", ... */
    static String kind(Object value) {
        return switch (value) {
            case null -> "null";
            case Map<?, ?> m -> "an object";
            case List<?> l -> "an array";
            case String s -> "a string";
            case Boolean b -> "a boolean";
            case Number n -> "a number";
            default -> "a " + value.getClass().getSimpleName();
        };
    }

    /**
     * One line, no spaces: for the safetensors header and for output read by programs.
     *
     * @throws IllegalArgumentException when {@code value} holds something that is not a JSON value
     */
    public static String writeCompact(Object value) {
        return write(COMPACT, value);
    }

    /**
     * Indented by two spaces, {@code "key": value}, as Python's {@code json.dump(indent=2)} writes: for files
     * people read ({@code cfg.json}, manifests, results). No trailing newline.
     *
     * @throws IllegalArgumentException when {@code value} holds something that is not a JSON value
     */
    public static String writePretty(Object value) {
        return write(PRETTY, value);
    }

    /** {@code v}, or null when it is NaN or infinite: JSON has no numbers for those. */
    public static Double finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static String write(ObjectWriter writer, Object value) {
        try {
            return writer.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write as JSON: " + e.getOriginalMessage(), e);
        }
    }
}
