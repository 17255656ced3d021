package dev.mxd.explore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium through its driver (Debian's {@code chromium} and {@code chromium-driver}), found at
 * {@code -Dmxd.chromium} / {@code -Dmxd.chromedriver} or {@code /usr/bin}. Without them a test is skipped, except
 * with {@code CI=true}, where a missing browser is a failure. Selenium Manager is never asked for a browser: both
 * paths are given, so nothing is downloaded.
 */
final class Browser {
    static final Path CHROMIUM = Path.of(System.getProperty("mxd.chromium", "/usr/bin/chromium"));
    static final Path DRIVER = Path.of(System.getProperty("mxd.chromedriver", "/usr/bin/chromedriver"));

    private Browser() {
    }

    /** A fresh headless browser with its own profile under {@code profile}; quit it. */
    static WebDriver start(Path profile) {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            String missing = "no browser to test the explorer's pages in: " + CHROMIUM + " or " + DRIVER
                    + " is missing (Debian: apt-get install chromium chromium-driver)";
            if ("true".equals(System.getenv("CI"))) {
                Assertions.fail(missing);
            }
            Assumptions.abort(missing);
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", "--user-data-dir=" + profile.toAbsolutePath());
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(20));
        return driver;
    }

    /** Saves a screenshot of the page as {@code <artifacts>/<name>.png} (target/screenshots in the build). */
    static Path screenshot(WebDriver driver, String name) throws IOException {
        Path dir = Path.of(System.getProperty("mxd.explore.artifacts", "target/screenshots"));
        Files.createDirectories(dir);
        Path png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath();
        return Files.move(png, dir.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }
}
