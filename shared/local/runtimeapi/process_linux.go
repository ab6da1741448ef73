package runtimeapi

import "syscall"

// processAttributes puts a function process in its own process group, so Stop
// can kill the whole group, and asks the kernel to kill it if the host dies
// without calling Stop (a test binary killed by -timeout, Ctrl-C), so no
// function process outlives the host.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
