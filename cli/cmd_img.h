/*
 * cmd_img.h - the `cowpoke img` subcommands, split over cmd_img*.c.
 */
#ifndef COWPOKE_CMD_IMG_H
#define COWPOKE_CMD_IMG_H

#include <stdbool.h>

int img_check(int argc, char **argv);
int img_map(int argc, char **argv);
int img_read(int argc, char **argv);
int img_write(int argc, char **argv);
int img_discard(int argc, char **argv);
int img_mix(int argc, char **argv);

extern const char img_create_usage[], img_info_usage[], img_check_usage[],
    img_map_usage[], img_read_usage[], img_write_usage[], img_discard_usage[],
    img_mix_usage[];

/* Parse "[--output human|json] FILE": returns whether json; *file_arg is
 * FILE's index, or negative after printing usage on bad arguments. */
bool img_output_json(int argc, char **argv, int *file_arg, const char *usage);

#endif
