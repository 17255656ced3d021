package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What a new user reads in {@code ./mxd --help} and {@code ./mxd COMMAND --help}, for every command. */
class HelpTextTest {

    private static List<CommandLine> everyCommand() {
        CommandLine root = new CommandLine(new Main());
        List<CommandLine> all = new ArrayList<>(List.of(root));
        all.addAll(root.getSubcommands().values());
        return all;
    }

    /**
     * picocli passes every description through {@code String.format}; one it cannot format (a lone {@code %},
     * where {@code %%} is meant) is printed raw after a {@code [picocli WARN]} line on stderr.
     */
    @Test
    void helpPrintsNoWarnings() {
        PrintStream stderr = System.err;
        for (CommandLine c : everyCommand()) {
            ByteArrayOutputStream warnings = new ByteArrayOutputStream();
            System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
            try {
                c.getUsageMessage(CommandLine.Help.Ansi.OFF);
            } finally {
                System.setErr(stderr);
            }
            assertEquals("", warnings.toString(StandardCharsets.UTF_8), c.getCommandSpec().qualifiedName() + " --help");
        }
    }

    /** Help text explains itself in words: no citation of the maintainers' design sections. */
    @Test
    void helpCitesNoDesignSections() {
        for (CommandLine c : everyCommand()) {
            String usage = c.getUsageMessage(CommandLine.Help.Ansi.OFF);
            assertFalse(usage.contains("DESIGN") || usage.contains("§"), c.getCommandSpec().qualifiedName() + ":\n" + usage);
        }
    }
}
