package pgembed

import (
	"syscall"
	"time"
)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// reapTimeout bounds the wait for a stopped postmaster to be reapable.
const reapTimeout = 5 * time.Second

// becomeSubreaper makes this process adopt its orphaned descendants, so the
// postmaster, orphaned when pg_ctl exits, becomes our child and Stop can
// reap it. Otherwise it is adopted by PID 1, and where that is not a real
// init (containers, CI sandboxes) every stopped server stays a zombie.
func becomeSubreaper() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// reap collects the exit status of pid if it is our child; it returns at
// once when it is not.
func reap(pid int) {
	deadline := time.Now().Add(reapTimeout)
	for {
		var status syscall.WaitStatus
		got, err := syscall.Wait4(pid, &status, syscall.WNOHANG, nil)
		if err != syscall.EINTR && (got == pid || err != nil || time.Now().After(deadline)) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
