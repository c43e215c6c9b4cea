/* SPDX-License-Identifier: MIT */
/*
 * Host side of bench/net_bench.py's host->guest phase: send frames of one
 * size to a tap as fast as the kernel takes them (AF_PACKET, sendmmsg in
 * batches of 64) until killed. Frames the tap's queue cannot hold are dropped
 * by the kernel; the guest counts what it receives.
 *
 * Usage: net_blast IFNAME FRAME_BYTES
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLAST_BATCH	64
#define BLAST_ETHERTYPE 0x88b6

int main(int argc, char **argv)
{
	static unsigned char frame[1514];
	struct mmsghdr msgs[BLAST_BATCH];
	struct iovec iov = {frame, 0};
	struct sockaddr_ll sll = {0};
	long size;
	int fd;

	if (argc != 3 || (size = strtol(argv[2], NULL, 10)) < 60 || size > 1514) {
		fprintf(stderr, "usage: net_blast IFNAME FRAME_BYTES(60-1514)\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(BLAST_ETHERTYPE));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(BLAST_ETHERTYPE);
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("net_blast");
		return 1;
	}
	memset(frame, 0xff, 6);
	memset(frame + 6, 0x02, 6);
	frame[12] = BLAST_ETHERTYPE >> 8;
	frame[13] = BLAST_ETHERTYPE & 0xff;
	iov.iov_len = (size_t)size;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BLAST_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;)
		if (sendmmsg(fd, msgs, BLAST_BATCH, 0) < 0)
			usleep(50); /* ENOBUFS: the tap's queue is full */
}
