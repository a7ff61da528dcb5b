package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machineState describes what, beyond fleiogen, sways the figures: the
// load, and how much memory the kernel's caches hold. On the 2-core
// virtual machine of docs/bench.md the same render took 40 to 70% longer
// once the page cache and the inode and dentry caches had filled than
// right after they were dropped, in user time as well as system time.
// Where /proc is missing, it gives the CPU count alone.
func machineState() string {
	s := fmt.Sprintf("%d CPUs", runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			s += ", load " + f[0]
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return s
	}
	defer f.Close()
	m := meminfo(f)
	gib := func(k string) string { return fmt.Sprintf("%.1f GiB", float64(m[k])/(1<<20)) }
	if _, ok := m["MemTotal"]; ok {
		s += "; memory " + gib("MemTotal") + ", free " + gib("MemFree") + ", page cache " + gib("Cached") + ", reclaimable slab (inodes, dentries) " + gib("SReclaimable")
	}
	return s
}

// meminfo reads /proc/meminfo's "Key:   value kB" lines, in KiB.
func meminfo(r io.Reader) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			m[k] = n
		}
	}
	return m
}
