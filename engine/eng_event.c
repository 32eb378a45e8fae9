/*
 * eng_event.c - names of the engine's events (see eng_event.h).
 */
#include <string.h>

#include "eng_event.h"

static const char *const event_names[ENG_EV_COUNT] = {
#define ENG_EV_NAME(id, name) [ENG_EV_##id] = name,
    ENG_EVENTS(ENG_EV_NAME)
#undef ENG_EV_NAME
};

const char *eng_event_name(eng_event ev)
{
    if ((unsigned)ev >= ENG_EV_COUNT)
        return "?";
    return event_names[ev];
}

int eng_event_by_name(const char *name)
{
    for (int i = 0; i < ENG_EV_COUNT; i++)
        if (strcmp(event_names[i], name) == 0)
            return i;
    return -1;
}
