package dev.mxd.checkpoint.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad checkpoints: each is refused with an exception naming the file and what is wrong, and leaves nothing
 * behind: the zip file is closed and any arena the load allocated is closed.
 */
class TorchCheckpointRejectTest {

    @TempDir
    Path dir;

    /** The malicious fixtures, the function each tries to call, and the file that function would create. */
    static Stream<Arguments> payloads() {
        return Stream.of(
                Arguments.of("malicious_os_system", "posix.system", "/tmp/mxd-pt-fixture-pwned-os-system"),
                Arguments.of("malicious_eval_proto4", "builtins.eval", "/tmp/mxd-pt-fixture-pwned-eval"),
                Arguments.of("malicious_in_config", "posix.system", "/tmp/mxd-pt-fixture-pwned-in-config"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("payloads")
    void aPickleThatCallsAFunctionIsRefusedAndNothingRuns(String fixture, String function, String marker)
            throws IOException {
        Path created = Path.of(marker);
        Files.deleteIfExists(created);
        Path pt = Fixtures.pt(fixture);
        IllegalArgumentException e = assertRefused(pt, "refusing to call " + function, "none of it was run");
        assertTrue(e.getMessage().contains(pt.toString()), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TorchCheckpoint.read(pt));
        assertFalse(Files.exists(created), "the payload ran: " + created + " exists");
    }

    @Test
    void aTruncatedZipIsRefused() throws IOException {
        byte[] whole = Files.readAllBytes(Fixtures.pt("mxd_relu"));
        Path half = Files.write(dir.resolve("half.pt"), Arrays.copyOf(whole, whole.length / 2));
        assertRefused(half, "not a readable zip archive", "truncated");
        Path stub = Files.write(dir.resolve("stub.pt"), Arrays.copyOf(whole, 10));
        assertRefused(stub, "not a readable zip archive");
    }

    @Test
    void filesThatAreNotZipCheckpointsAreNamed() throws IOException {
        assertRefused(Files.write(dir.resolve("legacy.pt"), new byte[] {(byte) 0x80, 2, '}', '.'}),
                "legacy (pre-1.6, not zip) torch.save file");
        assertRefused(Files.write(dir.resolve("model.pkl.gz"), new byte[] {0x1f, (byte) 0x8b, 8, 0}), "gzip data");
        assertRefused(Files.write(dir.resolve("empty.pt"), new byte[0]), "it is empty");
        assertRefused(Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("nopickle.pt"),
                (name, data) -> name.endsWith("data.pkl") ? null : data), "without a data.pkl record");
        assertThrows(java.nio.file.NoSuchFileException.class, () -> TorchCheckpoint.load(dir.resolve("absent.pt")));
    }

    @Test
    void aMissingStorageRecordIsNamed() throws IOException {
        Path pt = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("missing.pt"),
                (name, data) -> name.equals("mxd_relu/data/0") ? null : data);
        assertRefused(pt, "storage record 'mxd_relu/data/0' is missing", "it holds tensor W_enc");
        assertThrows(IllegalArgumentException.class, () -> TorchCheckpoint.read(pt));
    }

    @Test
    void aStorageRecordOfTheWrongSizeIsNamed() throws IOException {
        Path pt = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("short.pt"),
                (name, data) -> name.equals("mxd_relu/data/1") ? Arrays.copyOf(data, data.length - 4) : data);
        assertRefused(pt, "storage record 'mxd_relu/data/1' holds 40 bytes, but the pickle declares 44",
                "it holds tensor b_enc");
    }

    @Test
    void anUnknownStorageClassIsNamed() throws IOException {
        Path pt = editPickle("mxd_relu", "torch\nFloatStorage\n", "torch\nFooStorage\n");
        assertRefused(pt, "unknown storage class torch.FooStorage");
    }

    @Test
    void aStorageTypeOutsideTorchIsRefused() throws IOException {
        Path pt = editPickle("mxd_relu", "ctorch\nFloatStorage\n", "cos\nsystem\n");
        assertRefused(pt, "storage type os.system is not a torch storage class");
    }

    @Test
    void aNonFloatingDtypeIsNamed() throws IOException {
        // IntStorage has FloatStorage's element size, so the records still fit and the dtype is what fails.
        Path pt = editPickle("mxd_relu", "torch\nFloatStorage\n", "torch\nIntStorage\n");
        assertEquals("int32", TorchCheckpoint.read(pt).tensors().get("W_enc").torchDtype(), "read() describes it");
        assertRefused(pt, "tensor 'W_enc' is int32 (torch.IntStorage)", "float32, float16, bfloat16 and float64");
    }

    @Test
    void shapesThatContradictTheConfigAreNamed() throws IOException {
        List<Arena> arenas = new ArrayList<>();
        IllegalArgumentException e = assertRefused(Fixtures.pt("mxd_bad_shapes"), arenas,
                "tensor 'gate' has shape [13, 7] but the config needs [14, 7]", "[n_experts, d_in]");
        assertEquals(1, arenas.size(), "the tensors were loaded before the shapes were compared: " + e);
    }

    @Test
    void aConfigMxdDoesNotSupportIsNamed() throws IOException {
        Path pt = editPickle("mxd_relu", "X\u0004\0\0\0relu", "X\u0004\0\0\0tanh");
        assertRefused(pt, "config sae_training.config.LanguageModelSAERunnerConfig", "mlp_activation_fn = 'tanh'");
    }

    @Test
    void aCorruptStorageFailsItsChecksumAndFreesWhatWasLoaded() throws IOException {
        byte[] zip = Files.readAllBytes(Fixtures.pt("mxd_relu"));
        int at = dataOffset(zip, "mxd_relu/data/3");
        zip[at + 5] ^= 0x40;
        Path pt = Files.write(dir.resolve("corrupt.pt"), zip);
        List<Arena> arenas = new ArrayList<>();
        assertRefused(pt, arenas, "record 'mxd_relu/data/3' fails its CRC-32 check");
        assertEquals(1, arenas.size(), "storages before data/3 were converted into the model's arena");
    }

    @Test
    void aCorruptPickleFailsItsChecksum() throws IOException {
        byte[] zip = Files.readAllBytes(Fixtures.pt("mxd_relu"));
        int at = dataOffset(zip, "mxd_relu/data.pkl");
        zip[at + 40] ^= 0x01;
        assertRefused(Files.write(dir.resolve("corrupt.pt"), zip), "record 'mxd_relu/data.pkl' fails its CRC-32");
    }

    @Test
    void aTruncatedPickleIsNamed() throws IOException {
        Path pt = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("cut.pt"),
                (name, data) -> name.endsWith("data.pkl") ? Arrays.copyOf(data, data.length / 2) : data);
        assertRefused(pt, "data.pkl offset");
    }

    @Test
    void aPickleWithoutTheReferenceLayoutIsNamed() throws IOException {
        // torch.save(model.state_dict()) alone: no config
        Path pt = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("bare.pt"),
                (name, data) -> name.endsWith("data.pkl") ? new byte[] {(byte) 0x80, 2, '}', '.'} : data);
        assertRefused(pt, "holds a dict with keys [], not the reference's {'cfg': config, 'state_dict': tensors}");
    }

    @Test
    void aBigEndianCheckpointIsRefused() throws IOException {
        Path pt = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("big.pt"),
                (name, data) -> name.endsWith("/version") ? "3\n".getBytes(StandardCharsets.US_ASCII) : data,
                Map.of("mxd_relu/byteorder", "big".getBytes(StandardCharsets.US_ASCII)));
        assertRefused(pt, "byteorder is 'big'");
        Path little = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("little.pt"), (name, data) -> data,
                Map.of("mxd_relu/byteorder", "little".getBytes(StandardCharsets.US_ASCII)));
        TorchCheckpoint.load(little).close();
    }

    // --- helpers ---

    private Path editPickle(String fixture, String from, String to) throws IOException {
        return Fixtures.rewriteZip(Fixtures.pt(fixture), dir.resolve(fixture + "-edited.pt"),
                (name, data) -> name.endsWith("data.pkl") ? Fixtures.replace(data, from, to) : data);
    }

    private static IllegalArgumentException assertRefused(Path pt, String... fragments) throws IOException {
        return assertRefused(pt, new ArrayList<>(), fragments);
    }

    /**
     * Loads {@code pt} expecting an IllegalArgumentException whose message holds every fragment; checks that
     * every arena the load took is closed and that no file descriptor is left open on the file.
     */
    private static IllegalArgumentException assertRefused(Path pt, List<Arena> arenas, String... fragments)
            throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TorchCheckpoint.load(pt, () -> {
            Arena a = Arena.ofShared();
            arenas.add(a);
            return a;
        }));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message lacks '" + f + "': " + e.getMessage());
        }
        for (Arena a : arenas) {
            assertFalse(a.scope().isAlive(), "an arena of the failed load is still open");
        }
        assertEquals(0, openDescriptors(pt), "the failed load left " + pt + " open");
        return e;
    }

    /** How many of this process's file descriptors point at {@code file} (Linux /proc). */
    static int openDescriptors(Path file) throws IOException {
        Path fds = Path.of("/proc/self/fd");
        assumeTrue(Files.isDirectory(fds), "needs /proc/self/fd");
        Path real = file.toRealPath();
        int n = 0;
        try (Stream<Path> list = Files.list(fds)) {
            for (Path fd : list.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).equals(real)) {
                        n++;
                    }
                } catch (IOException gone) {
                    // closed while listing
                }
            }
        }
        return n;
    }

    /** Where a stored entry's data starts in a zip: after its local header, name and extra field. */
    private static int dataOffset(byte[] zip, String entry) {
        byte[] name = entry.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + 30 + name.length <= zip.length; i++) {
            if (zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 3 && zip[i + 3] == 4) {
                int nameLength = u16(zip, i + 26);
                int extraLength = u16(zip, i + 28);
                if (nameLength == name.length && Arrays.equals(zip, i + 30, i + 30 + nameLength, name, 0, name.length)) {
                    return i + 30 + nameLength + extraLength;
                }
            }
        }
        throw new IllegalStateException("no local header for " + entry);
    }

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
    }
}
