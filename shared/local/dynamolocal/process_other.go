//go:build !linux

package dynamolocal

import "syscall"

// processAttributes puts the emulator in its own process group, so Stop can kill
// the whole group. Only Linux can also tie the emulator's life to ours.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
