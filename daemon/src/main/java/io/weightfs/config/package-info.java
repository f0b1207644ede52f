/**
 * The edge where a user's {@code config.yaml} becomes immutable, validated records
 * ({@link io.weightfs.config.WeightsConfig}, {@link io.weightfs.config.RepoEntry}), and where the Hub
 * token for an entry is found ({@link io.weightfs.config.TokenResolver}).
 *
 * <p>Everything a user can get wrong in the config is found here, all at once and before any network
 * call, and reported with the file, the entry and the rule ({@link io.weightfs.config.ConfigException}).
 * Later packages trust these records and do not validate them again. This package depends on no other
 * weightfs package.
 */
package io.weightfs.config;
