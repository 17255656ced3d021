package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Backends;
import picocli.CommandLine.Option;

/** The {@code --backend} option of the commands that run a model (a picocli mixin), and the backend it picks. */
final class BackendOption {
    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, opencl, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto).")
    String name;

    /** The backend {@code --backend} names, else the one {@link Backends#select()} picks. */
    Backend select() {
        return name == null ? Backends.select() : Backends.select(name);
    }

    /** The name {@code --backend} gives, else {@link #requested(String) the one asked for elsewhere}. */
    String requested() {
        return requested(name);
    }

    /** The backend named by an option, else by {@code -Dmxd.backend}, else by {@code $MXD_BACKEND}, else auto. */
    static String requested(String option) {
        return option != null ? option : Backends.requestedName(System::getProperty, System::getenv);
    }
}
