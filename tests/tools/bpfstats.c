// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfstats: run a command with the kernel's BPF run-time statistics on.
 *
 *   bpfstats CMD [ARG...]
 *
 * Holds a BPF_ENABLE_STATS descriptor while CMD runs, so every program's run_cnt and
 * run_time_ns (bpftool prog show) count during CMD only. The kernel turns the statistics off
 * again when the last such descriptor closes, also when this process is killed: unlike the
 * kernel.bpf_stats_enabled sysctl, nothing is left on. SIGINT and SIGTERM are passed on to CMD
 * (perf record without a command stops on SIGINT). Exits with CMD's status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = forward};
	int fd, status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: bpfstats CMD [ARG...]\n");
		return 2;
	}
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "bpfstats: BPF_ENABLE_STATS: %s (needs root and kernel 5.8+)\n",
			strerror(-fd));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("bpfstats: fork");
		return 1;
	}
	if (pid == 0) {
		/* A background job of a shell starts with SIGINT ignored; CMD gets the default. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(fd);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "bpfstats: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	child = pid;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("bpfstats: waitpid");
			return 1;
		}
	close(fd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
