package dev.mxd.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of the library's main classes (mxd-api, mxd-cpu-simd, mxd-opencl, mxd-text), as rules that fail the
 * build: no cycle between packages, an API that imports no backend, and backends that keep to themselves.
 */
class LayeringTest {
    /** The API's packages: everything a user imports, none of it tied to a backend. */
    private static final String[] API = {"dev.mxd", "dev.mxd.tensor..", "dev.mxd.checkpoint..", "dev.mxd.oracle..",
            "dev.mxd.train.."};

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.mxd");
    }

    @Test
    void everyLibraryModuleIsImported() {
        for (String pkg : new String[] {"dev.mxd", "dev.mxd.checkpoint", "dev.mxd.oracle", "dev.mxd.train",
                "dev.mxd.cpu", "dev.mxd.opencl", "dev.mxd.text", "dev.mxd.text.minilm"}) {
            assertTrue(classes.stream().anyMatch(c -> c.getPackageName().equals(pkg)), "no class of " + pkg
                    + " was imported: the rules below would pass on nothing");
        }
    }

    @Test
    void packagesHaveNoCycles() {
        slices().assignedFrom(byPackage()).should().beFreeOfCycles().check(classes);
    }

    @Test
    void theApiImportsNoBackend() {
        noClasses().that().resideInAnyPackage(API).should().dependOnClassesThat()
                .resideInAnyPackage("dev.mxd.cpu..", "dev.mxd.opencl..")
                .because("backends plug into the API through dev.mxd.Backend, found by ServiceLoader")
                .check(classes);
    }

    @Test
    void onlyTheCpuModuleTouchesItsInternals() {
        noClasses().that().resideOutsideOfPackage("dev.mxd.cpu..").should().dependOnClassesThat()
                .resideInAPackage("dev.mxd.cpu..").check(classes);
    }

    @Test
    void onlyTheOpenClModuleTouchesItsInternals() {
        noClasses().that().resideOutsideOfPackage("dev.mxd.opencl..").should().dependOnClassesThat()
                .resideInAPackage("dev.mxd.opencl..").check(classes);
    }

    /** One slice per package (the root package included, which a "dev.mxd.(**)" pattern would leave out). */
    private static SliceAssignment byPackage() {
        return new SliceAssignment() {
            @Override
            public SliceIdentifier getIdentifierOf(JavaClass c) {
                return c.getPackageName().startsWith("dev.mxd") ? SliceIdentifier.of(c.getPackageName())
                        : SliceIdentifier.ignore();
            }

            @Override
            public String getDescription() {
                return "the packages of dev.mxd";
            }
        };
    }
}
