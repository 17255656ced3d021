package dev.mxd.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file atomically (DESIGN §4, §5): the content goes to a temporary file in the target's
 * directory, is forced to disk, and is renamed over the target. Readers see the old file or the new one,
 * never a mix; a failure at any point deletes the temporary file and leaves the old file as it was.
 *
 * <p>The one place where mxd replaces a file: checkpoints, {@code cfg.json}, and the command line's results
 * and plots go through {@link #write(Path, Content)} or {@link #writeString}. Writing is split into
 * {@code prepare} and {@code Pending.commit()} inside this package so that a save of several files (weights
 * and {@code cfg.json}) can write and sync all of them before renaming any.
 */
public final class AtomicWrite {

    /** Writes the whole content to {@code out}; the channel belongs to {@link AtomicWrite}, do not close it. */
    @FunctionalInterface
    public interface Content {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    /**
     * What the content is written through. Production writes straight to the temporary file; tests wrap
     * the channel to fail midway and check that nothing of the old file is lost.
     */
    @FunctionalInterface
    interface Sink {
        Sink DIRECT = (target, channel) -> channel;

        WritableByteChannel open(Path target, FileChannel channel) throws IOException;
    }

    private AtomicWrite() {
    }

    /**
     * Writes {@code content} to {@code target}, replacing it atomically. The directory must exist.
     *
     * @throws IOException when the content or the file cannot be written; {@code target} is then as it was
     */
    public static void write(Path target, Content content) throws IOException {
        write(target, content, Sink.DIRECT);
    }

    /** {@link #write(Path, Content)} of {@code text} in UTF-8. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, utf8(text));
    }

    /** {@code text} in UTF-8 as content. */
    static Content utf8(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return out -> writeFully(out, ByteBuffer.wrap(bytes));
    }

    /** Writes {@code content} to {@code target}, replacing it atomically. */
    static void write(Path target, Content content, Sink sink) throws IOException {
        try (Pending p = prepare(target, content, sink)) {
            p.commit();
        }
    }

    /**
     * Writes {@code content} to a new temporary file beside {@code target} and forces it to disk; the
     * target is untouched until {@link Pending#commit()}. Closing an uncommitted {@code Pending} deletes
     * the temporary file.
     */
    static Pending prepare(Path target, Content content, Sink sink) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = createTemp(dir, target.getFileName().toString());
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            content.writeTo(sink.open(target, channel));
            channel.force(true);
        } catch (Throwable t) {
            deleteAfterFailure(temp, t);
            throw t;
        }
        return new Pending(temp, target.toAbsolutePath());
    }

    /** Writes all of {@code buf} ({@link WritableByteChannel#write} may write less than asked). */
    static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }

    /**
     * A new, empty file {@code .<name>.<random>.tmp} in {@code dir}. Not {@code Files.createTempFile}: that
     * creates mode 0600 on POSIX, which the rename would carry over to the saved model; a plain create
     * honours the umask like any other file the user writes.
     */
    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path temp = dir.resolve("." + name + "." + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong())
                    + ".tmp");
            try {
                Files.newByteChannel(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return temp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 9) {
                    throw e;
                }
            } catch (FileSystemException e) {
                // the JDK's message names the temporary file, which the user never asked for
                throw new FileSystemException(dir.resolve(name).toString(), null, "cannot create a file in " + dir
                        + (e.getReason() == null ? "" : " (" + e.getReason() + ")") + "; the file is unchanged");
            }
        }
    }

    private static void deleteAfterFailure(Path temp, Throwable cause) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** A fully written and synced temporary file waiting to replace its target. */
    static final class Pending implements AutoCloseable {
        private final Path temp;
        private final Path target;
        private boolean committed;

        private Pending(Path temp, Path target) {
            this.temp = temp;
            this.target = target;
        }

        /** Renames the temporary file over the target, then syncs the directory so the rename is durable. */
        void commit() throws IOException {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
            syncDirectory(target.getParent());
        }

        /** Deletes the temporary file unless it was committed. */
        @Override
        public void close() throws IOException {
            if (!committed) {
                Files.deleteIfExists(temp);
            }
        }

        /**
         * The rename is atomic either way; syncing the directory only makes it survive a power loss. Linux
         * allows opening a directory for reading and forcing it; other systems (Windows) refuse, and there
         * is nothing more to do.
         */
        private static void syncDirectory(Path dir) {
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException | UnsupportedOperationException e) {
                // not supported on this platform; see above
            }
        }
    }
}
