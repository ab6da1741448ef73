//go:build !linux

package runtimeapi

import "syscall"

// processAttributes puts a function process in its own process group, so Stop
// can kill the whole group. Only Linux can also tie its life to the host's.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
