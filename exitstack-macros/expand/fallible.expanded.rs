fn save(file: &File, log: &Log) -> io::Result<u32> {
    let __exitstack_scope = ::exitstack::__private::ErrorWatch::new();
    let __exitstack_ret = ::exitstack::__private::Ret::<io::Result<u32>>::new();
    let __exitstack_failed = ::exitstack::ScopeResult::__failed(&__exitstack_ret);
    let __exitstack_value = ::exitstack::__private::call_once(
        &__exitstack_ret,
        || {
            #[allow(unused_imports)]
            use defer as _;
            let __exitstack_guard = {
                <_ as ::exitstack::Fallible>::__exitstack_can_fail(__exitstack_ret.ty());
                ::exitstack::__private::Guard::watching(
                    &__exitstack_scope,
                    ::exitstack::__private::When::Error,
                    |_| { log.push("rolled back") },
                )
            };
            #[allow(unused_imports)]
            use defer as _;
            let __exitstack_guard = {
                let __exitstack_cleanup = |
                    _: ::exitstack::__private::Outcome,
                | -> ::core::result::Result<(), _> { file.sync_all() };
                ::exitstack::HoldsCleanupError::__guard(
                    __exitstack_cleanup,
                    &__exitstack_failed,
                    &__exitstack_scope,
                    ::exitstack::__private::When::Always,
                )
            };
            let written = match ::exitstack::__private::branch(file.write(b"data")) {
                ::core::ops::ControlFlow::Continue(__exitstack_value) => {
                    __exitstack_value
                }
                ::core::ops::ControlFlow::Break(__exitstack_residual) => {
                    return {
                        let __exitstack_value: io::Result<u32> = ::exitstack::__private::residual(
                            &__exitstack_ret,
                            move || match __exitstack_residual? {},
                        );
                        #[allow(unreachable_code)]
                        let __exitstack_returned = {
                            ::exitstack::__private::Observe(&__exitstack_value)
                                .__exitstack_observe(&__exitstack_scope);
                            ::exitstack::__private::returned(__exitstack_value)
                        };
                        __exitstack_returned
                    };
                }
            };
            {
                let __exitstack_value: io::Result<u32> = Ok(written);
                #[allow(unreachable_code)]
                let __exitstack_returned = {
                    ::exitstack::__private::Observe(&__exitstack_value)
                        .__exitstack_observe(&__exitstack_scope);
                    ::exitstack::__private::returned(__exitstack_value)
                };
                __exitstack_returned
            }
        },
    );
    ::exitstack::ScopeResult::__finish(__exitstack_failed, __exitstack_value)
}
