/**
 * What a mount says about itself: the status JSON and the wait file's text
 * ({@link io.weightfs.control.MountStatus}), and its Prometheus metrics
 * ({@link io.weightfs.control.MountMetrics}), all read from the counters of the store, the fetch layer
 * and the sources. It changes nothing; the filesystem serves what it renders. Only this package
 * imports the Prometheus client.
 */
package io.weightfs.control;
