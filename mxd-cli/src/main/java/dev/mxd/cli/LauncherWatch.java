package dev.mxd.cli;

import java.util.Optional;

/**
 * Ends this JVM when the {@code ./mxd} script that started it is gone. The script runs java as a background
 * child (so that its stderr filter can finish first, tools/lib.sh); {@code kill -9} of the script cannot be
 * passed on, and without this the JVM went on as an orphan: a training killed and restarted with
 * {@code --resume} then had two JVMs writing the same checkpoint and model, each a full trainer with its own
 * heap and worker threads, on a machine the user believed had one.
 *
 * <p>The script names itself in {@value #ENV}; a JVM whose parent is another process (started directly, or by
 * a wrapper that exec'd) is not watched.
 */
final class LauncherWatch {
    /** The environment variable through which {@code tools/lib.sh} passes the script's process id. */
    static final String ENV = "MXD_LAUNCHER_PID";

    /** How often the parent is looked at: the longest an orphan keeps running. */
    static final long POLL_MILLIS = 100;

    /** The exit status of a JVM whose launcher died: that of a process killed by SIGKILL, as the user asked. */
    static final int ORPHANED_STATUS = 137;

    private LauncherWatch() {
    }

    /**
     * Starts a daemon thread that halts the JVM (no shutdown hooks: the user killed the run) once the launcher
     * {@code pid} has exited; does nothing when {@code pid} is null, malformed, or not this JVM's parent.
     *
     * @return whether a watch was started
     */
    static boolean start(String pid) {
        Optional<ProcessHandle> launcher = launcher(pid, ProcessHandle.current().parent());
        // Watched by parenthood, not by isAlive(): a killed launcher stays a zombie until its own parent reaps
        // it, but its children are handed to another parent the moment it exits.
        launcher.ifPresent(p -> Thread.ofPlatform().daemon().name("mxd-launcher-watch").start(() -> {
            try {
                while (ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L) == p.pid()) {
                    Thread.sleep(POLL_MILLIS);
                }
            } catch (InterruptedException e) {
                return;
            }
            Runtime.getRuntime().halt(ORPHANED_STATUS);
        }));
        return launcher.isPresent();
    }

    /** The parent when it is the launcher named by {@code pid}. */
    static Optional<ProcessHandle> launcher(String pid, Optional<ProcessHandle> parent) {
        if (pid == null || parent.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Long.parseLong(pid.trim()) == parent.get().pid() ? parent : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
