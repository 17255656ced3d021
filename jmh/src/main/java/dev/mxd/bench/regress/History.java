package dev.mxd.bench.regress;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The history file: one {@link RunDocument} per line (JSON Lines), oldest first, appended to by every regression
 * run. Whole documents, raw iterations included, so any later comparison or plot can be made from it.
 */
final class History {
    private History() {
    }

    /** Appends {@code run} as one line, creating the file and its directory when missing. */
    static void append(Path file, RunDocument run) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, run.toLine() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /**
     * Every run of the file, oldest first; blank lines are skipped.
     *
     * @throws BadInputException when the file is missing or a line is not a run, naming the line
     */
    static List<RunDocument> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such history file (a regression run appends to it: ./mxd bench"
                    + " --quick --history " + file + ")");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read it: " + e.getMessage(), e);
        }
        List<RunDocument> runs = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                runs.add(RunDocument.parse(lines.get(i), file + " line " + (i + 1)));
            }
        }
        if (runs.isEmpty()) {
            throw new BadInputException(file + " holds no runs");
        }
        return runs;
    }
}
