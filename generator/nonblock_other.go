//go:build !unix && !windows

package generator

// oNonblock is 0 where there is no O_NONBLOCK (js, wasip1), nor named pipes.
const oNonblock = 0
