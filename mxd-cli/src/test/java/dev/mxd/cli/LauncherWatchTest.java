package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which parents are watched; killingTheLauncherEndsItsJvm in CliIT kills a real launcher. */
class LauncherWatchTest {
    @Test
    void onlyTheNamedParentIsWatched() {
        Optional<ProcessHandle> parent = ProcessHandle.current().parent();
        assertTrue(parent.isPresent());
        long pid = parent.get().pid();
        assertEquals(parent, LauncherWatch.launcher(Long.toString(pid), parent));
        assertEquals(parent, LauncherWatch.launcher(" " + pid + "\n", parent));
        assertFalse(LauncherWatch.launcher(Long.toString(pid + 1), parent).isPresent(), "another process");
        assertFalse(LauncherWatch.launcher(null, parent).isPresent(), "not started by ./mxd");
        assertFalse(LauncherWatch.launcher("12x", parent).isPresent(), "malformed");
        assertFalse(LauncherWatch.launcher(Long.toString(pid), Optional.empty()).isPresent(), "no parent");
    }
}
