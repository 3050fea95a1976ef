// The start floor as containerd and CRI-O pay it: each binary run the way libcni's
// invoke.RawExec.ExecPlugin runs a plugin (os/exec, stdin from a buffer, stdout and stderr into
// buffers). Built and run by the plugin benchmark when a Go toolchain is installed, to check its
// own launcher (shared/Processes/ProcessRunner.cs) against the real caller's.
// Usage: libcni-exec-floor RUNS BINARY...
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"time"
)

func run(binary string, stdin []byte) {
	stdout := &bytes.Buffer{}
	stderr := &bytes.Buffer{}
	c := exec.CommandContext(context.Background(), binary)
	c.Env = os.Environ()
	c.Stdin = bytes.NewBuffer(stdin)
	c.Stdout = stdout
	c.Stderr = stderr
	_ = c.Run() // VERSION of /bin/true or a plugin: only the time counts
}

func main() {
	runs, err := strconv.Atoi(os.Args[1])
	if err != nil || runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: libcni-exec-floor RUNS BINARY...")
		os.Exit(2)
	}
	stdin := []byte(`{"cniVersion":"1.0.0","name":"floor","type":"x"}`)
	for _, binary := range os.Args[2:] {
		times := make([]float64, 0, runs)
		for i := -2; i < runs; i++ { // two warm-up runs, as the benchmark's own
			start := time.Now()
			run(binary, stdin)
			if i >= 0 {
				times = append(times, float64(time.Since(start).Nanoseconds())/1e6)
			}
		}
		sort.Float64s(times)
		median := times[len(times)/2]
		if len(times)%2 == 0 {
			median = (times[len(times)/2-1] + times[len(times)/2]) / 2
		}
		fmt.Printf("- %s: %.2f ms through Go's os/exec as libcni runs a plugin\n", binary, median)
	}
}
