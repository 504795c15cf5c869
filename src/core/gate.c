#include "core/gate.h"

void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->open_cond, NULL);
	pthread_cond_init(&g->out_cond, NULL);
	g->inside = 0;
	g->held = g->stopping = false;
	g->holds = 0;
}

void gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->out_cond);
	pthread_cond_destroy(&g->open_cond);
	pthread_mutex_destroy(&g->lock);
}

void gate_reset(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->stopping = false;
	g->held = false;
	pthread_mutex_unlock(&g->lock);
}

bool gate_enter(struct gate *g, volatile uint8_t *immediate_exit)
{
	bool in;

	pthread_mutex_lock(&g->lock);
	while (g->held && !g->stopping)
		pthread_cond_wait(&g->open_cond, &g->lock);
	in = !g->stopping;
	if (in) {
		*immediate_exit = 0;
		g->inside++;
	}
	pthread_mutex_unlock(&g->lock);
	return in;
}

void gate_leave(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	if (--g->inside == 0 && g->held)
		pthread_cond_signal(&g->out_cond);
	pthread_mutex_unlock(&g->lock);
}

void gate_hold(struct gate *g, gate_kick_fn kick, void *opaque)
{
	pthread_mutex_lock(&g->lock);
	g->held = true;
	g->holds++;
	if (g->inside)
		kick(opaque);
	while (g->inside)
		pthread_cond_wait(&g->out_cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void gate_release(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->held = false;
	pthread_cond_broadcast(&g->open_cond);
	pthread_mutex_unlock(&g->lock);
}

void gate_stop(struct gate *g, gate_kick_fn kick, void *opaque)
{
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	kick(opaque);
	pthread_cond_broadcast(&g->open_cond);
	pthread_mutex_unlock(&g->lock);
}
