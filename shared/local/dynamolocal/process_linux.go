package dynamolocal

import "syscall"

// processAttributes puts the emulator in its own process group, so Stop can kill
// the whole group, and asks the kernel to kill it if this process dies without
// calling Stop (a test binary killed by -timeout, Ctrl-C), so no JVM outlives us.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
