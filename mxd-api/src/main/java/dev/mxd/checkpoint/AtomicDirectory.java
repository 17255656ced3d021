package dev.mxd.checkpoint;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Replaces a whole directory (an activation harvest, an explorer site) the way {@link AtomicWrite} replaces a
 * file: the new content is written into a fresh directory beside the target, then renamed into its place. Under
 * the target's name there is the old directory or the complete new one, never a half-written one (between the two
 * renames of a replacement, for a moment, neither); a failure at any point deletes what was written and leaves
 * the old directory as it was.
 */
public final class AtomicDirectory {

    /** Writes the new directory's content into {@code dir} (empty, created for it) and returns a result. */
    @FunctionalInterface
    public interface Content<T> {
        T writeInto(Path dir) throws IOException;
    }

    private AtomicDirectory() {
    }

    /**
     * Writes {@code content} into a new directory {@code .<name>.<purpose>-<random>} beside {@code target} and
     * renames it to {@code target}, replacing a directory there (the caller decides whether one may be replaced).
     * Parent directories are created.
     *
     * @return what {@code content} returned
     * @throws IOException when the content or a rename fails; {@code target} is then as it was
     */
    public static <T> T replace(Path target, String purpose, Content<T> content) throws IOException {
        Path to = target.toAbsolutePath().normalize();
        Files.createDirectories(to.getParent());
        Path temp = sibling(to, purpose);
        Files.createDirectory(temp);
        try {
            T result = content.writeInto(temp);
            if (Files.exists(to)) {
                Path old = sibling(to, "old");
                Files.move(to, old, StandardCopyOption.ATOMIC_MOVE);
                try {
                    Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException | RuntimeException e) {
                    Files.move(old, to, StandardCopyOption.ATOMIC_MOVE);
                    throw e;
                }
                deleteTree(old);
            } else {
                Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE);
            }
            return result;
        } catch (IOException | RuntimeException | Error e) {
            try {
                deleteTree(temp);
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Deletes {@code dir} and everything below it; nothing when it does not exist. */
    public static void deleteTree(Path dir) throws IOException {
        if (Files.notExists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** A name beside {@code target} that does not exist yet: {@code .<name>.<what>-<random>}. */
    private static Path sibling(Path target, String what) throws FileAlreadyExistsException {
        for (int attempt = 0; attempt < 10; attempt++) {
            Path p = target.resolveSibling("." + target.getFileName() + "." + what + "-"
                    + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()));
            if (Files.notExists(p)) {
                return p;
            }
        }
        throw new FileAlreadyExistsException(target.resolveSibling("." + target.getFileName() + "." + what).toString());
    }
}
