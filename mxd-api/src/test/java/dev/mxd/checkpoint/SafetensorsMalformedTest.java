package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every malformed file is refused with a message naming the file and what is wrong in it, and leaves no
 * mapping or descriptor behind.
 */
class SafetensorsMalformedTest {
    @TempDir
    Path dir;
    Path file;
    Leaks leaks;

    @BeforeEach
    void setUp() {
        file = dir.resolve("bad.safetensors");
        leaks = Leaks.baseline();
    }

    @Test
    void fileShorterThanTheHeaderLength() throws IOException {
        Files.write(file, new byte[] {1, 2, 3, 4, 5});
        refused("5 bytes long", "8-byte header length");
        Files.write(file, new byte[0]);
        refused("0 bytes long");
    }

    @Test
    void headerLengthPastTheEndOfTheFile() throws IOException {
        write(1000, "{}".getBytes(StandardCharsets.US_ASCII), 30);
        refused("header length 1000", "8 + 1000 > 40 bytes");
        write(-1, "{}".getBytes(StandardCharsets.US_ASCII), 0);
        refused("header length 18446744073709551615");
    }

    @Test
    void headerLongerThanTheFormatAllows() throws IOException {
        long n = SafetensorsFile.MAX_HEADER_BYTES + 1;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(le(n));
            raf.setLength(8 + n); // sparse: nothing is written
        }
        refused("header length " + n, "limit of " + SafetensorsFile.MAX_HEADER_BYTES);
    }

    @Test
    void dataShorterThanTheOffsets() throws IOException {
        write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        refused("tensor 'a'", "data_offsets [0, 16]", "holds 8 bytes", "truncated");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        write("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[100,104]}}", 8);
        refused("tensor 'b'", "data_offsets [100, 104]", "holds 8 bytes");
    }

    @Test
    void beginPastEnd() throws IOException {
        write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,8]}}", 16);
        refused("tensor 'a'", "data_offsets [16, 8]", "begin is past end");
    }

    @Test
    void overlappingOffsets() throws IOException {
        write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
        refused("'a' (data_offsets [0, 16])", "'b' (data_offsets [8, 24])", "overlap");
    }

    @Test
    void shapeTimesDtypeSizeDiffersFromTheByteLength() throws IOException {
        write("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24);
        refused("tensor 'w'", "F32 [2, 3]", "needs 24 bytes", "data_offsets [0, 20] hold 20");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F8_E4M3", "U8", "BOOL", "f32"})
    void unknownDtype(String dtype) throws IOException {
        write("{\"q\":{\"dtype\":\"" + dtype + "\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4);
        refused("tensor 'q'", "dtype '" + dtype + "'", "unknown or unsupported");
    }

    @Test
    void malformedJson() throws IOException {
        write("{\"a\":{\"dtype\":\"F32\",,\"shape\":[1]}}", 4);
        refused("header of", "malformed JSON at line 1, column 21");
    }

    @Test
    void trailingContentAfterTheObject() throws IOException {
        write("{} {}", 0);
        refused("header of", "malformed JSON");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        write("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        refused("malformed JSON", "Duplicate field 'a'");
    }

    @Test
    void headerThatIsNotUtf8() throws IOException {
        byte[] json = "{\"a\u00FF\":{}}".getBytes(StandardCharsets.ISO_8859_1);
        write(json.length, json, 0);
        refused("not valid UTF-8", "at byte 3 (file offset 11)");
        byte[] truncated = {'{', '"', (byte) 0xE2, (byte) 0x82};
        write(truncated.length, truncated, 0);
        refused("not valid UTF-8", "at byte 2 (file offset 10)");
    }

    @Test
    void headerThatIsNotAnObject() throws IOException {
        write("[1, 2]", 0);
        refused("is not a JSON object: it is an array");
        write("\"text\"", 0);
        refused("is not a JSON object: it is a string");
    }

    @Test
    void entryFieldsOfTheWrongKind() throws IOException {
        write("{\"a\":[1]}", 0);
        refused("tensor 'a' must be an object");
        write("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        refused("tensor 'a' has no dtype");
        write("{\"a\":{\"dtype\":\"I32\",\"data_offsets\":[0,4]}}", 4);
        refused("tensor 'a' has no shape");
        write("{\"a\":{\"dtype\":\"I32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        refused("tensor 'a' has shape [-1]", "-1 is not an integer in [0, 2^63)");
        write("{\"a\":{\"dtype\":\"I32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4);
        refused("tensor 'a' has shape [1.0]");
        write("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0]}}", 4);
        refused("tensor 'a' has data_offsets [0] of 1 values; it needs 2");
        write("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4);
        refused("tensor 'a' has data_offsets [0, 99999999999999999999]");
    }

    @Test
    void shapeWhoseByteCountOverflows() throws IOException {
        write("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4);
        refused("tensor 'a'", "overflows");
    }

    @Test
    void metadataThatIsNotStrings() throws IOException {
        write("{\"__metadata__\":{\"cfg\":{\"d_in\":4}}}", 0);
        refused("__metadata__.cfg must be a string, it is an object");
        write("{\"__metadata__\":[]}", 0);
        refused("__metadata__ must be an object of strings");
    }

    @Test
    void directoryIsNotAFile() {
        FileSystemException e = assertThrows(FileSystemException.class, () -> SafetensorsFile.open(dir));
        assertTrue(e.getMessage().contains(dir + ": is a directory"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> SafetensorsFile.open(dir.resolve("absent.safetensors")));
    }

    /** Opening must fail with every fragment in the message, naming the file, and leave nothing held. */
    private void refused(String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                f.names();
            }
        });
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), "message names the file: " + m);
        for (String fragment : fragments) {
            assertTrue(m.contains(fragment), "message has '" + fragment + "': " + m);
        }
        leaks.assertNothingHeld(file);
    }

    private void write(String json, int dataBytes) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        write(header.length, header, dataBytes);
    }

    private void write(long headerLength, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes);
        b.put(le(headerLength)).put(header);
        Files.write(file, b.array());
    }

    private static byte[] le(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }
}
