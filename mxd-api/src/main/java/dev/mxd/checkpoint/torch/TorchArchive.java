package dev.mxd.checkpoint.torch;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The zip container {@code torch.save} writes (PyTorch 1.6 and later): every record lies under one
 * top-level folder (the file's stem, or {@code archive}): {@code data.pkl} (the pickle), {@code data/<key>}
 * (one raw storage each, stored uncompressed), {@code version}, and from PyTorch 2.1 {@code byteorder}.
 * Records are read through {@link ZipFile} and checked against their CRC-32. Closing the archive closes
 * the file.
 */
final class TorchArchive implements AutoCloseable {
    /** data.pkl of a state dict is a few KB; anything this large is not a checkpoint's pickle. */
    private static final long MAX_PICKLE_BYTES = 64L << 20;
    private static final int CHUNK = 1 << 20;

    private final Path path;
    private final ZipFile zip;
    private final String prefix;

    private TorchArchive(Path path, ZipFile zip, String prefix) {
        this.path = path;
        this.zip = zip;
        this.prefix = prefix;
    }

    /**
     * Opens a checkpoint and finds its records. The caller closes the result.
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when it is not a zip-format torch checkpoint, naming what it is instead
     */
    static TorchArchive open(Path path) throws IOException {
        checkMagic(path);
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new IllegalArgumentException(path + " is not a readable zip archive (truncated or corrupt?): "
                    + e.getMessage(), e);
        }
        try {
            TorchArchive archive = new TorchArchive(path, zip, findPrefix(path, zip));
            archive.checkByteOrder();
            return archive;
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    /** The top-level folder of the records, e.g. {@code archive} or the saved file's stem. */
    String name() {
        return prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
    }

    /** The bytes of {@code data.pkl}. */
    byte[] pickle() throws IOException {
        ZipEntry e = entry("data.pkl");
        if (e.getSize() < 0 || e.getSize() > MAX_PICKLE_BYTES) {
            throw new IllegalArgumentException(path + ": data.pkl is " + e.getSize() + " bytes, more than the "
                    + MAX_PICKLE_BYTES + " a checkpoint's pickle can plausibly need");
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment bytes = scratch.allocate(e.getSize());
            read(e, bytes);
            return bytes.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * Checks that storage record {@code data/<key>} exists and holds exactly {@code bytes}.
     *
     * @throws IllegalArgumentException naming the record and both sizes
     */
    void checkStorage(String key, long bytes) {
        storageEntry(key, bytes);
    }

    /**
     * Copies the raw bytes of storage {@code data/<key>} into {@code into}, whose size the record must have.
     *
     * @throws IllegalArgumentException when the record is missing, has another size or fails its CRC
     */
    void readStorage(String key, MemorySegment into) throws IOException {
        read(storageEntry(key, into.byteSize()), into);
    }

    private ZipEntry storageEntry(String key, long bytes) {
        ZipEntry e = zip.getEntry(prefix + "data/" + key);
        if (e == null) {
            throw new IllegalArgumentException(path + ": storage record '" + prefix + "data/" + key
                    + "' is missing from the archive");
        }
        if (e.getSize() != bytes) {
            throw new IllegalArgumentException(path + ": storage record '" + e.getName() + "' holds " + e.getSize()
                    + " bytes, but the pickle declares " + bytes);
        }
        return e;
    }

    @Override
    public String toString() {
        return path.toString();
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }

    private ZipEntry entry(String record) {
        ZipEntry e = zip.getEntry(prefix + record);
        if (e == null) {
            throw new IllegalArgumentException(path + ": record '" + prefix + record + "' is missing");
        }
        return e;
    }

    /** Reads a whole record into {@code out} (exactly its size), checking its CRC-32. */
    private void read(ZipEntry e, MemorySegment out) throws IOException {
        long bytes = out.byteSize();
        CRC32 crc = new CRC32();
        byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(bytes, 1))];
        long done = 0;
        try (InputStream in = zip.getInputStream(e)) {
            int n;
            while (done < bytes && (n = in.read(buf, 0, (int) Math.min(buf.length, bytes - done))) > 0) {
                MemorySegment.copy(buf, 0, out, ValueLayout.JAVA_BYTE, done, n);
                crc.update(buf, 0, n);
                done += n;
            }
        } catch (ZipException | java.io.EOFException ex) {
            throw new IllegalArgumentException(path + ": record '" + e.getName() + "' cannot be read (truncated or"
                    + " corrupt?): " + ex.getMessage(), ex);
        }
        if (done != bytes) {
            throw new IllegalArgumentException(path + ": record '" + e.getName() + "' ends after " + done + " of "
                    + bytes + " bytes (truncated?)");
        }
        if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
            throw new IllegalArgumentException(path + ": record '" + e.getName() + "' fails its CRC-32 check"
                    + " (corrupt file)");
        }
    }

    private void checkByteOrder() throws IOException {
        ZipEntry e = zip.getEntry(prefix + "byteorder");
        if (e == null) {
            return; // written since PyTorch 2.1; older files are little-endian
        }
        if (e.getSize() < 0 || e.getSize() > 16) {
            throw new IllegalArgumentException(path + ": the byteorder record holds " + e.getSize()
                    + " bytes; expected 'little' or 'big'");
        }
        String order;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment bytes = scratch.allocate(e.getSize());
            read(e, bytes);
            order = new String(bytes.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
        }
        if (!order.equals("little")) {
            throw new IllegalArgumentException(path + ": byteorder is '" + order + "'; mxd reads little-endian"
                    + " checkpoints only (re-save the file on a little-endian machine)");
        }
    }

    private static void checkMagic(Path path) throws IOException {
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, 4);
        }
        if (n >= 2 && head[0] == 'P' && head[1] == 'K') {
            return;
        }
        String what;
        if (n >= 1 && (head[0] & 0xFF) == 0x80) {
            what = "a legacy (pre-1.6, not zip) torch.save file, which mxd does not read; re-save it with"
                    + " torch.save on PyTorch 1.6 or later";
        } else if (n >= 2 && (head[0] & 0xFF) == 0x1f && (head[1] & 0xFF) == 0x8b) {
            what = "gzip data (the reference's .pkl.gz format?), which mxd does not read; re-save it with"
                    + " torch.save as a .pt";
        } else {
            what = n == 0 ? "empty" : "not a zip archive";
        }
        throw new IllegalArgumentException(path + " is not a PyTorch zip checkpoint: it is " + what);
    }

    private static String findPrefix(Path path, ZipFile zip) {
        List<String> pickles = zip.stream().map(ZipEntry::getName)
                .filter(n -> n.equals("data.pkl") || (n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - 9))
                .toList();
        if (pickles.isEmpty()) {
            throw new IllegalArgumentException(path + " is a zip archive without a data.pkl record: not a torch.save"
                    + " checkpoint");
        }
        if (pickles.size() > 1) {
            throw new IllegalArgumentException(path + " holds several data.pkl records " + pickles
                    + "; a torch.save checkpoint has one");
        }
        String p = pickles.getFirst();
        return p.substring(0, p.length() - "data.pkl".length());
    }
}
