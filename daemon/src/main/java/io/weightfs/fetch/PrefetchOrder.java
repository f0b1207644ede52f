package io.weightfs.fetch;

import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.source.RepoFile;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The order the background fill walks files in, chosen for what a model server reads first:
 * <ol>
 *   <li>small files (configs, tokenizers, {@code *.index.json}), smallest first: a server reads
 *       them in its first second, and they cost almost nothing;</li>
 *   <li>then the rest in path order, which is the order Hugging Face loaders (transformers,
 *       vLLM, diffusers) open shards in: they sort the shard names of the index's weight map.</li>
 * </ol>
 * Entries keep their config order within each group.
 */
public final class PrefetchOrder {
    /**
     * Files up to this size go first. 2 MiB holds any config or index JSON and most tokenizers
     * (a large tokenizer.json is ~10 MiB and waits with the weights; it is still fetched on demand).
     */
    static final long SMALL_FILE_BYTES = 2L << 20;

    private PrefetchOrder() {}

    public static List<RepoFile> order(List<ResolvedEntry> entries) {
        List<RepoFile> small = new ArrayList<>();
        List<RepoFile> large = new ArrayList<>();
        for (ResolvedEntry e : entries) {
            for (ManifestFile f : e.files()) {
                RepoFile rf = new RepoFile(e.manifest().repoId(), e.manifest().commit(), f, e.token(), e.manifest().repoType());
                (f.size() <= SMALL_FILE_BYTES && !isWeights(f.path()) ? small : large).add(rf);
            }
        }
        small.sort(Comparator.comparingLong(RepoFile::size));
        List<RepoFile> out = new ArrayList<>(small);
        out.addAll(large);
        return out;
    }

    private static boolean isWeights(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        return p.endsWith(".safetensors") || p.endsWith(".bin") || p.endsWith(".gguf") || p.endsWith(".pt") || p.endsWith(".pth");
    }
}
