/* workpool.c: a mutex+condvar job queue; completions return through event_active. */
#include "workpool.h"

#include <event2/event.h>
#include <pthread.h>

#include "xmem.h"

enum { QUEUE_MAX = 4096 };

typedef struct job {
	struct job *next;
	workpool_fn work, done;
	void *arg;
	struct event *ev;   /* on the submitter's base; fires done */
} job;

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	job *head, *tail;
	int queued;
	bool stopping;
	int nthreads;
	pthread_t *threads;
};

static workpool *default_pool;

workpool *workpool_default(void) { return default_pool; }
void workpool_set_default(workpool *p) { default_pool = p; }

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job *j = arg;
	event_free(j->ev);
	if (j->done)
		j->done(j->arg);
	free(j);
}

static void *thread_main(void *arg)
{
	workpool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		job *j = p->head;
		if (!j) {
			pthread_mutex_unlock(&p->lock);
			return NULL; /* stopping and drained */
		}
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		j->work(j->arg);
		event_active(j->ev, EV_READ, 0);
	}
}

workpool *workpool_new(int nthreads)
{
	workpool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->nthreads = nthreads < 1 ? 1 : nthreads;
	p->threads = xcalloc((size_t)p->nthreads, sizeof *p->threads);
	for (int i = 0; i < p->nthreads; i++)
		pthread_create(&p->threads[i], NULL, thread_main, p);
	return p;
}

void workpool_free(workpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

bool workpool_submit(workpool *p, struct event_base *base, workpool_fn work, workpool_fn done, void *arg)
{
	job *j = xcalloc(1, sizeof *j);
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->ev = event_new(base, -1, 0, on_done, j);
	pthread_mutex_lock(&p->lock);
	if (p->queued >= QUEUE_MAX || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		event_free(j->ev);
		free(j);
		return false;
	}
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return true;
}
