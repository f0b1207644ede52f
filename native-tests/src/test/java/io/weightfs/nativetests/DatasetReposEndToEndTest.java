package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dataset repos end to end: a config naming a dataset in both forms ({@code repo_type: dataset},
 * {@code hf://datasets/...}), beside a model of the same name, mounted and fetched from
 * {@code weightfs serve}; each folder must hold exactly its own repo's files.
 */
@io.weightfs.testing.RequiresFuse
class DatasetReposEndToEndTest {
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");

    @TempDir
    Path tmp;

    private Path repos() throws Exception {
        Path repos = tmp.resolve("repos");
        Path dataset = repos.resolve("datasets/acme/shared-name");
        Files.createDirectories(dataset.resolve("data"));
        Files.writeString(dataset.resolve("data/train.csv"), "text,label\nhello,1\n");
        new PatternContent(3, 2 * 1024 * 1024 + 7).writeTo(dataset.resolve("data/train.parquet"));
        Path model = repos.resolve("acme/shared-name");
        Files.createDirectories(model);
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": 8}\n");
        return repos;
    }

    private Path config() throws Exception {
        Path c = tmp.resolve("config.yaml");
        Files.writeString(c, """
                model_cache:
                  - repo_id: acme/shared-name
                    repo_type: dataset
                    volume_folder: data-a
                  - repo_id: acme/shared-name
                    volume_folder: model
                weights:
                  - source: hf://datasets/acme/shared-name@main
                    mount_location: data-b
                """);
        return c;
    }

    @Test
    void aDatasetMountsAndFetches_apartFromTheModelOfTheSameName() throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos)) {
            try (MountProcess mount = MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, "--config", config().toString(),
                    "--store", tmp.resolve("store").toString(), "--endpoint", serve.endpoint())) {
                String waited = Files.readString(mount.mountpoint().resolve(".weightfs/wait")).strip();
                assertEquals("complete: 5 files verified", waited);
                TestRepos.assertSameTree(repos.resolve("datasets/acme/shared-name"), mount.mountpoint().resolve("data-a"));
                TestRepos.assertSameTree(repos.resolve("datasets/acme/shared-name"), mount.mountpoint().resolve("data-b"));
                TestRepos.assertSameTree(repos.resolve("acme/shared-name"), mount.mountpoint().resolve("model"));
            }
            assertTrue(Files.isDirectory(tmp.resolve("store/manifests/datasets--acme--shared-name")),
                    "the dataset's manifest is kept apart from the model's");
            Path dest = tmp.resolve("fetched");
            WeightfsProcess.Result r = WeightfsProcess.run(Duration.ofMinutes(2), FAST_RETRY, "fetch", "--config",
                    config().toString(), "--dest", dest.toString(), "--store", tmp.resolve("fetch-store").toString(),
                    "--endpoint", serve.endpoint(), "--progress", "none");
            assertEquals(0, r.exit(), r.all());
            TestRepos.assertSameTree(repos.resolve("datasets/acme/shared-name"), dest.resolve("data-a"));
            TestRepos.assertSameTree(repos.resolve("acme/shared-name"), dest.resolve("model"));
        }
    }
}
