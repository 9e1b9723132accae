//go:build !linux

package pgembed

func becomeSubreaper() {}

func reap(pid int) {}
